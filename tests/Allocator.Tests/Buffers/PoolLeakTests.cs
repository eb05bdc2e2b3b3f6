using System.Runtime.CompilerServices;
using Allocator.Buffers;
using Xunit;

namespace Allocator.Tests.Buffers;

/// <summary>
/// Owners dropped without Dispose: after a full GC and the finalizers, the pool counts them as leaked and their
/// blocks are back with the allocator. Runs alone (the statistics collection), so that no other test can be handed
/// the freed address in between and the allocator's counts can be compared.
/// </summary>
[Collection(StatisticsCollection.Name)]
public unsafe class PoolLeakTests : PoolTestBase
{
    // Above the cache's largest bucket, so the block is a mapping of its own that the finalizer frees outright.
    private const int Large = 6 << 20;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static nint RentAndDrop(NativeMemoryPool<byte> pool, int size)
    {
        NativeMemoryOwner<byte> owner = pool.RentOwner(size);
        owner.Span.Fill(1);
        return (nint)owner.Pointer;
    }

    // One full GC finds the dropped owner and its block guard; the finalizer returns the block. (Kept to the
    // minimum: induced full GCs change how the GC sizes its heap, which RSS-based tests that run after can notice.)
    private static void CollectAll()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    [Fact]
    public void DroppedOwnersAreCountedAsLeakedAndTheirMemoryIsReturned()
    {
        // Earlier tests' unreachable owners would otherwise be finalized by this test's collection and free blocks
        // counted in liveBefore (a CI run saw 4 live before, 0 after): collect them first.
        CollectAll();
        BlockCache.Drain();
        using var pool = new NativeMemoryPool<byte>(new NativeMemoryPoolOptions { Checked = false });
        var reported = new List<NativeMemoryLeak>();
        pool.LeakDetected += leak =>
        {
            lock (reported)
            {
                reported.Add(leak);
            }
        };
        long liveBefore = NativeAllocator.GetStatistics().LiveBlocks;
        nint large = RentAndDrop(pool, Large);
        RentAndDrop(pool, 1000);
        Assert.Equal(2, pool.GetStatistics().Outstanding);
        Assert.Equal(liveBefore + 2, NativeAllocator.GetStatistics().LiveBlocks);

        CollectAll();

        NativeMemoryPoolStatistics s = pool.GetStatistics();
        Assert.Equal(2, s.Leaked);
        Assert.Equal(0, s.Outstanding);
        Assert.Equal(0, s.OutstandingBytes);
        Assert.Equal(s.RentedBytes, s.LeakedBytes);
        Assert.Equal(2, s.RecentLeaks.Count);
        Assert.All(s.RecentLeaks, leak => Assert.Null(leak.RentStackTrace));
        lock (reported)
        {
            Assert.Equal(2, reported.Count);
        }

        // The memory went back to the allocator: both blocks are freed, and the allocator calls the large one freed
        // ("double free", InvalidOperationException) or, once it has forgotten it, no block at all (ArgumentException).
        Assert.Equal(liveBefore, NativeAllocator.GetStatistics().LiveBlocks);
        Exception error = Assert.ThrowsAny<Exception>(() => NativeAllocator.UsableSize((void*)large));
        Assert.True(error is InvalidOperationException or ArgumentException, error.ToString());
    }

    [Fact]
    public void CheckedModeReportsTheStackOfTheLeakedRent()
    {
        using var pool = new NativeMemoryPool<byte>(new NativeMemoryPoolOptions { Checked = true });
        Assert.True(pool.IsChecked);
        RentAndDrop(pool, Large);
        CollectAll();
        NativeMemoryPoolStatistics s = pool.GetStatistics();
        Assert.Equal(1, s.Leaked);
        NativeMemoryLeak leak = Assert.Single(s.RecentLeaks);
        Assert.Contains(nameof(RentAndDrop), leak.RentStackTrace);
        Assert.Contains(nameof(RentAndDrop), leak.ToString());
        Assert.True(leak.Bytes >= Large);
    }

    [Fact]
    public void DisposedOwnersAreNotLeaksAndCachedBlocksOfExitedThreadsAreFreed()
    {
        BlockCache.Drain();
        using var pool = new NativeMemoryPool<byte>();
        long liveBefore = NativeAllocator.GetStatistics().LiveBlocks;
        var thread = new Thread(() =>
        {
            // Disposed on this thread, the block stays in its cache slot when the thread ends.
            using NativeMemoryOwner<byte> owner = pool.RentOwner(12_345);
        });
        thread.Start();
        thread.Join();
        Assert.Equal(liveBefore + 1, NativeAllocator.GetStatistics().LiveBlocks);

        // The thread's slots are unreachable now: their blocks' finalizers free them, without counting a leak.
        for (int i = 0; i < 50 && NativeAllocator.GetStatistics().LiveBlocks != liveBefore; i++)
        {
            CollectAll();
            Thread.Sleep(20);
        }

        Assert.Equal(liveBefore, NativeAllocator.GetStatistics().LiveBlocks);
        Assert.Equal(0, pool.GetStatistics().Leaked);
        Assert.Equal(1, pool.GetStatistics().Returns);
    }
}
