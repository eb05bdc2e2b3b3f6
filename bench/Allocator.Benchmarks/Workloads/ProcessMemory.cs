namespace Allocator.Benchmarks.Workloads;

/// <summary>
/// This process's resident memory, from /proc/self/status. Peak RSS is VmHWM. Before a measured run the peak is
/// reset to the current RSS by writing 5 to /proc/self/clear_refs (Linux 4.0+), so the peak belongs to the run
/// and not to start-up or warm-up. Where that write is refused, the peak covers the whole process life and the
/// result says so.
/// </summary>
public static class ProcessMemory
{
    /// <summary>Current resident set size in bytes (VmRSS), or 0 where /proc is unavailable.</summary>
    public static long Rss => ReadStatus("VmRSS:");

    /// <summary>Peak resident set size in bytes (VmHWM) since start or the last <see cref="TryResetPeak"/>.</summary>
    public static long PeakRss => ReadStatus("VmHWM:");

    /// <summary>Resets the peak to the current RSS; false when the kernel refuses.</summary>
    public static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long ReadStatus(string key)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    // "VmRSS:     1632 kB"
                    return long.Parse(line.AsSpan(key.Length).Trim().TrimEnd("kB").Trim()) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }
}
