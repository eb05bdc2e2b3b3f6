using System.Globalization;

namespace Allocator.Inspect;

/// <summary>Number formatting shared by the text reports (invariant culture, so output is the same everywhere).</summary>
internal static class Format
{
    /// <summary>"1,234".</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>"512 B", "64.0 KiB", "3.0 MiB", "1.25 GiB".</summary>
    public static string Bytes(long bytes)
    {
        double value = bytes;
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }

    /// <summary>"12.5%".</summary>
    public static string Percent(double share) => string.Create(CultureInfo.InvariantCulture, $"{share * 100:0.0}%");

    /// <summary>"0x7f3a2c400000".</summary>
    public static string Address(ulong address) => string.Create(CultureInfo.InvariantCulture, $"0x{address:x}");
}
