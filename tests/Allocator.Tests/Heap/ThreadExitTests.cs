using System.Collections.Concurrent;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>Heaps of threads that exit are reclaimed: nothing leaks, and the memory goes back to the OS.</summary>
[Collection(StatisticsCollection.Name)]
public unsafe class ThreadExitTests
{
    internal static long RssBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim()) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS in /proc/self/status");
    }

    // The GC heap's committed memory is part of RSS, and how much of it a thousand Thread objects leave committed
    // depends on what the GC did before (induced collections in earlier tests changed it by up to 7 MiB), so it
    // is taken out: what is left is the allocator's and the runtime's native memory.
    private static long RssOutsideGcHeap() => RssBytes() - GC.GetGCMemoryInfo().TotalCommittedBytes;

    [Fact]
    public void ShortLivedThreadsLeaveNoLeakAndRssReturns()
    {
        // Warm-up: the first threads a process creates grow its RSS by themselves (glibc's per-thread malloc arenas,
        // runtime thread data, JIT-compiled code). Run a small round first so the baseline includes that.
        Churn(64);
        NativeAllocator.Collect(true);
        GC.Collect();
        long rssAfterWarmup = RssOutsideGcHeap();
        Churn(1000);
        NativeAllocator.Collect(true);
        GC.Collect();
        long rssAfterFull = RssOutsideGcHeap();
        Assert.True(rssAfterFull - rssAfterWarmup < 16 << 20, $"RSS outside the GC heap grew by {(rssAfterFull - rssAfterWarmup) >> 20} MiB");
    }

    private static void Churn(int threadCount)
    {
        NativeAllocator.Collect(true);
        var before = NativeAllocator.GetStatistics();

        var leftBehind = new BlockingCollection<(nint P, int Size)>();
        long freedElsewhere = 0;
        var freers = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            foreach ((nint p, int size) in leftBehind.GetConsumingEnumerable())
            {
                byte* b = (byte*)p;
                Assert.Equal((byte)size, b[0]);
                Assert.Equal((byte)size, b[size - 1]);
                NativeAllocator.Free(b);
                Interlocked.Increment(ref freedElsewhere);
            }
        })).ToArray();
        foreach (Thread t in freers)
        {
            t.Start();
        }

        const int blocksPerThread = 100;
        for (int batch = 0; batch < threadCount; batch += 8)
        {
            var threads = Enumerable.Range(batch, 8).Select(id => new Thread(() =>
            {
                var random = new Random(id);
                var mine = new List<(nint P, int Size)>();
                for (int i = 0; i < blocksPerThread; i++)
                {
                    int size = random.Next(1, 4096);
                    byte* p = (byte*)NativeAllocator.Alloc((nuint)size);
                    new Span<byte>(p, size).Fill((byte)size);
                    if (i % 2 == 0)
                    {
                        leftBehind.Add(((nint)p, size));
                    }
                    else
                    {
                        mine.Add(((nint)p, size));
                    }
                }

                // Free half of its own, keep a quarter for the freers after it exits.
                for (int i = 0; i < mine.Count; i++)
                {
                    if (i % 2 == 0)
                    {
                        NativeAllocator.Free((void*)mine[i].P);
                    }
                    else
                    {
                        leftBehind.Add(mine[i]);
                    }
                }
            })).ToArray();
            foreach (Thread t in threads)
            {
                t.Start();
            }

            foreach (Thread t in threads)
            {
                t.Join();
            }
        }

        leftBehind.CompleteAdding();
        foreach (Thread t in freers)
        {
            t.Join();
        }

        Assert.Equal(threadCount * blocksPerThread * 3 / 4, freedElsewhere);
        NativeAllocator.Collect(true);
        var after = NativeAllocator.GetStatistics();
        Assert.Equal(before.LiveBlocks, after.LiveBlocks);
        Assert.Equal(before.BytesInUse, after.BytesInUse);
        Assert.True(after.ThreadHeaps <= before.ThreadHeaps + 2, $"{after.ThreadHeaps} thread heaps remain (had {before.ThreadHeaps})");
        Assert.True(after.BytesCommitted <= before.BytesCommitted, $"the allocator holds {after.BytesCommitted} bytes, {before.BytesCommitted} before: {after} heaps {after.ThreadHeaps} purges {after.OsPurgeCalls} unmaps {after.OsUnmapCalls} cache {after.LargeCacheBytes}\n{Allocator.Heap.Arena.Describe()}");
    }
}
