namespace Allocator.Benchmarks.Micro;

/// <summary>Summaries of repeated measurements, shared by the in-process tests (scaling, side by side).</summary>
public static class Stats
{
    /// <summary>The median of <paramref name="values"/> (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
