using System.Globalization;

namespace Allocator;

/// <summary>
/// The allocator's options, read once at start-up. Each option comes from an environment variable or, when that is
/// not set, from an AppContext switch (a <c>runtimeconfig.json</c> property or an
/// <c>&lt;RuntimeHostConfigurationOption&gt;</c> item), or else its default.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Option</term><description>Environment variable / AppContext name: default, meaning</description></listheader>
/// <item><term><see cref="PurgeDelayMilliseconds"/></term><description><c>ALLOCATOR_PURGE_DELAY_MS</c> / <c>Allocator.PurgeDelayMs</c>: 100.
/// How long an empty page, segment or cached large block waits before its memory goes back to the OS (madvise
/// MADV_DONTNEED). 0 purges at once.</description></item>
/// <item><term><see cref="Checked"/></term><description><c>ALLOCATOR_CHECKED</c> / <c>Allocator.Checked</c>: false. Checked mode (see README).</description></item>
/// <item><term><see cref="LargeCacheBytes"/></term><description><c>ALLOCATOR_LARGE_CACHE_MB</c> / <c>Allocator.LargeCacheMB</c>: 1024 MiB.
/// Most bytes of recently freed large mappings kept for reuse (purged after the delay). Within it the cache holds
/// at most twice the program's recent peak of live large bytes, and always up to 64 MiB. 0 disables the cache.</description></item>
/// <item><term><see cref="LargeCacheCount"/></term><description><c>ALLOCATOR_LARGE_CACHE_COUNT</c> / <c>Allocator.LargeCacheCount</c>: 64.
/// Most ranges kept in that cache (adjacent freed ranges merge into one).</description></item>
/// <item><term><see cref="LabelMemory"/></term><description><c>ALLOCATOR_LABEL</c> / <c>Allocator.Label</c>: true. Names the allocator's
/// mappings so /proc/PID/maps shows <c>[anon:allocator-segment]</c> and <c>[anon:allocator-large]</c>.</description></item>
/// <item><term><see cref="HugePages"/></term><description><c>ALLOCATOR_HUGE_PAGES</c> / <c>Allocator.HugePages</c>: true. Asks
/// the kernel for transparent huge pages (madvise MADV_HUGEPAGE) on large blocks of at least 2 MiB, mapped as whole
/// 2 MiB stretches on a 2 MiB boundary: a fresh block then faults in 2 MiB at a time instead of 4 KiB, several times
/// faster, and uses fewer TLB entries. The price: touching one byte of a 2 MiB stretch commits all of it. It has an
/// effect only where /sys/kernel/mm/transparent_hugepage/enabled is <c>madvise</c> or <c>always</c>.</description></item>
/// <item><term><see cref="StackMap"/></term><description><c>ALLOCATOR_STACK_MAP</c> / <c>Allocator.StackMap</c>: true. The fast
/// paths find the calling thread's heap from its stack address (see README, Architecture) instead of a thread-static.
/// Turn it off for code that moves one stack between threads (user-mode fibers driven from native code), which the
/// stack map cannot tell apart; the allocator then finds heaps through a thread-static, correct and a little slower
/// (random replacement a quarter to two fifths slower, the 64-byte pair within a few percent).</description></item>
/// </list>
/// Values that do not parse are ignored (the default stays), so a typo can never stop a process at start-up.
/// </remarks>
public static class AllocatorOptions
{
    /// <summary>Delay, in milliseconds, before free memory is purged (returned to the OS).</summary>
    public static int PurgeDelayMilliseconds { get; } = ReadInt("ALLOCATOR_PURGE_DELAY_MS", "Allocator.PurgeDelayMs", 100, 0, 3_600_000);

    /// <summary>True when checked mode is on.</summary>
    public static bool Checked { get; } = ReadBool("ALLOCATOR_CHECKED", "Allocator.Checked", false);

    /// <summary>Bytes of freed large mappings kept for reuse.</summary>
    public static long LargeCacheBytes { get; } = (long)ReadInt("ALLOCATOR_LARGE_CACHE_MB", "Allocator.LargeCacheMB", 1024, 0, 1 << 20) << 20;

    /// <summary>Most freed large mappings kept for reuse.</summary>
    public static int LargeCacheCount { get; } = ReadInt("ALLOCATOR_LARGE_CACHE_COUNT", "Allocator.LargeCacheCount", 64, 0, 1024);

    /// <summary>True when the allocator labels its mappings for /proc/PID/maps.</summary>
    public static bool LabelMemory { get; } = ReadBool("ALLOCATOR_LABEL", "Allocator.Label", true);

    /// <summary>True when large blocks of at least 2 MiB ask for transparent huge pages.</summary>
    public static bool HugePages { get; } = ReadBool("ALLOCATOR_HUGE_PAGES", "Allocator.HugePages", true);

    /// <summary>True when the fast paths find the thread's heap through the stack map.</summary>
    public static bool StackMap { get; } = ReadBool("ALLOCATOR_STACK_MAP", "Allocator.StackMap", true);

    private static string? Raw(string variable, string switchName)
    {
        string? value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(value))
        {
            return value.Trim();
        }

        return AppContext.GetData(switchName) switch
        {
            string s => s.Trim(),
            bool b => b ? "true" : "false",
            int i => i.ToString(CultureInfo.InvariantCulture),
            long l => l.ToString(CultureInfo.InvariantCulture),
            _ => null,
        };
    }

    private static int ReadInt(string variable, string switchName, int fallback, int min, int max)
    {
        string? raw = Raw(variable, switchName);
        return raw is not null && int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max ? v : fallback;
    }

    private static bool ReadBool(string variable, string switchName, bool fallback)
    {
        string? raw = Raw(variable, switchName);
        if (raw is null)
        {
            return AppContext.TryGetSwitch(switchName, out bool on) ? on : fallback;
        }

        return raw.ToLowerInvariant() switch
        {
            "1" or "true" or "yes" or "on" => true,
            "0" or "false" or "no" or "off" => false,
            _ => fallback,
        };
    }
}
