using Allocator.Benchmarks.Competitors;

namespace Allocator.Benchmarks.Workloads;

/// <summary>Parameters of the memory test (issue 3): many live small blocks, then all freed.</summary>
/// <param name="Blocks">Live blocks to build; 1,000,000 by default.</param>
/// <param name="SettleMilliseconds">How long to wait after freeing before measuring RSS without a collect.</param>
public sealed record MemoryTestRun(int Blocks = 1_000_000, int SettleMilliseconds = 1000, int Seed = 4141)
{
    public const int MinSize = 8;
    public const int MaxSize = 1024;
}

/// <summary>What the memory test measured, in bytes.</summary>
public sealed record MemoryTestResult(
    long RequestedBytes, long BaselineRss, long PeakRss, long RssAfterFree, long RssAfterSettle, long? RssAfterCollect,
    bool PeakIsReset)
{
    /// <summary>Peak RSS above the baseline, per byte requested (target: at most 1.15).</summary>
    public double PeakOverhead => (double)(PeakRss - BaselineRss) / RequestedBytes;
}

/// <summary>
/// Builds <see cref="MemoryTestRun.Blocks"/> live blocks of random sizes 8-1024 B (each written and checked by
/// <see cref="Pattern"/>), frees them all, and measures RSS: the peak above the baseline, right after freeing,
/// after <see cref="MemoryTestRun.SettleMilliseconds"/> without a collect, and after the allocator's collect.
/// </summary>
public static class MemoryTest
{
    public static MemoryTestResult Run<THeap>(MemoryTestRun run) where THeap : INativeHeap
    {
        var slots = new Slot<nint>[run.Blocks];
        slots.AsSpan().Fill(default); // touch the bookkeeping before the baseline so it is not counted
        var random = new FastRandom((ulong)run.Seed);
        var sizes = new UniformSizes(MemoryTestRun.MinSize, MemoryTestRun.MaxSize);
        GC.Collect();
        bool peakIsReset = ProcessMemory.TryResetPeak();
        long baseline = ProcessMemory.Rss;

        WorkingSet<NativeBlocks<THeap>, nint>.Fill(slots, sizes, ref random);
        long requested = 0;
        foreach (Slot<nint> slot in slots)
        {
            requested += slot.Size;
        }

        long peak = ProcessMemory.PeakRss;
        Blocks<NativeBlocks<THeap>, nint>.ReleaseAll(slots);
        long afterFree = ProcessMemory.Rss;
        Thread.Sleep(run.SettleMilliseconds);
        long afterSettle = ProcessMemory.Rss;
        long? afterCollect = THeap.Collect() ? ProcessMemory.Rss : null;
        return new MemoryTestResult(requested, baseline, peak, afterFree, afterSettle, afterCollect, peakIsReset);
    }
}
