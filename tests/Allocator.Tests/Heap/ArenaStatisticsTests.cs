using Allocator.Diagnostics;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>
/// Arena statistics are sums over the pages (each page counts its live blocks and the blocks it handed out): a
/// block freed by another thread counts as freed at once, though its page's owner has not taken it back yet, and
/// pages released to their segments keep their counts in the totals.
/// </summary>
[Collection(StatisticsCollection.Name)]
public unsafe class ArenaStatisticsTests
{
    private const int Blocks = 1000;
    private const int Size = 208; // a class of its own that the test process rarely uses

    [Fact]
    public void RemoteFreesCountAsFreesBeforeTheOwnerCollectsThem()
    {
        var blocks = new nint[Blocks];
        using var allocated = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var owner = new Thread(() =>
        {
            for (int i = 0; i < Blocks; i++)
            {
                blocks[i] = (nint)NativeAllocator.Alloc(Size);
            }

            allocated.Set();
            release.Wait(); // stays alive and idle: it neither collects nor gets reaped while the test measures
        });
        owner.Start();
        allocated.Wait();
        try
        {
            AllocatorStatistics before = NativeAllocator.GetStatistics();
            foreach (nint block in blocks)
            {
                NativeAllocator.Free((void*)block); // remote: the blocks go to the owner's thread-free lists
            }

            AllocatorStatistics after = NativeAllocator.GetStatistics();
            Assert.Equal(before.Frees + Blocks, after.Frees);
            Assert.Equal(before.Allocations, after.Allocations);
            Assert.Equal(Live(before) - Blocks, Live(after));
            Assert.Equal(before.BytesInUse - (Blocks * (long)Row(before).BlockSize), after.BytesInUse);
        }
        finally
        {
            release.Set();
            owner.Join();
        }
    }

    [Fact]
    public void ReleasedPagesKeepTheirCountsInTheTotals()
    {
        NativeAllocator.Collect(true);
        AllocatorStatistics before = NativeAllocator.GetStatistics();
        var blocks = new nint[Blocks];
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < Blocks; i++)
            {
                blocks[i] = (nint)NativeAllocator.Alloc(Size);
            }

            foreach (nint block in blocks)
            {
                NativeAllocator.Free((void*)block);
            }

            NativeAllocator.Collect(true); // releases the emptied pages: their counts move to the totals
        }

        AllocatorStatistics after = NativeAllocator.GetStatistics();
        Assert.Equal(before.Allocations + (3 * Blocks), after.Allocations);
        Assert.Equal(before.Frees + (3 * Blocks), after.Frees);
        Assert.Equal(Live(before), Live(after));
        Assert.True(Row(after).Pages <= Row(before).Pages, $"pages of the class: {Row(before).Pages} before, {Row(after).Pages} after");
    }

    [Fact]
    public void RemoteFreesCollectedIntoAnEmptyFreeListAreHandedOutAgainWithExactCounts()
    {
        using var owner = new OwnThread.Worker();
        var blocks = new nint[Blocks];
        owner.Do(() =>
        {
            for (int i = 0; i < Blocks; i++)
            {
                blocks[i] = (nint)NativeAllocator.Alloc(Size);
            }
        });
        AllocatorStatistics before = NativeAllocator.GetStatistics();
        foreach (nint block in blocks)
        {
            NativeAllocator.Free((void*)block); // remote
        }

        // The owner's pages have handed out every block they carved, so each refill takes a page's whole
        // thread-free list with its count, without reading the blocks.
        var again = new nint[Blocks];
        owner.Do(() =>
        {
            for (int i = 0; i < Blocks; i++)
            {
                again[i] = (nint)NativeAllocator.Alloc(Size);
            }
        });
        AllocatorStatistics after = NativeAllocator.GetStatistics();
        Assert.Equal(Live(before), Live(after));
        Assert.Equal(before.Allocations + Blocks, after.Allocations);
        Assert.Equal(before.Frees + Blocks, after.Frees);

        // Most of the second round are the blocks freed remotely (the rest: blocks carved but not yet handed out).
        int reused = again.Intersect(blocks).Count();
        Assert.True(reused >= Blocks / 2, $"{reused} of {Blocks} blocks reused");

        owner.Do(() =>
        {
            foreach (nint block in again)
            {
                NativeAllocator.Free((void*)block);
            }
        });
    }

    [Fact]
    public void RemoteFreesCollectedBesideLocalFreesLetTheirPagesGoWhenEmpty()
    {
        using var owner = new OwnThread.Worker();
        var blocks = new nint[Blocks];
        AllocatorStatistics start = default!;
        owner.Do(() =>
        {
            NativeAllocator.Collect(true);
            start = NativeAllocator.GetStatistics();
            for (int i = 0; i < Blocks; i++)
            {
                blocks[i] = (nint)NativeAllocator.Alloc(Size);
            }

            for (int i = 0; i < Blocks; i += 2)
            {
                NativeAllocator.Free((void*)blocks[i]); // local: the pages' own free lists are not empty
            }
        });
        for (int i = 1; i < Blocks; i += 2)
        {
            NativeAllocator.Free((void*)blocks[i]); // remote
        }

        AllocatorStatistics after = default!;
        owner.Do(() =>
        {
            // Collects each page's thread-free list onto its non-empty free list (the walk to the list's tail), then
            // releases the pages, which are empty only if the counts that came with the lists were exact.
            NativeAllocator.Collect(true);
            after = NativeAllocator.GetStatistics();
        });
        Assert.Equal(Live(start), Live(after));
        Assert.Equal(start.Frees + Blocks, after.Frees);
        Assert.True(Row(after).Pages <= Row(start).Pages, $"pages of the class: {Row(start).Pages} before, {Row(after).Pages} after");
    }

    private static SizeClassStatistics Row(AllocatorStatistics s) => s.SizeClasses.First(r => r.BlockSize >= Size);

    private static long Live(AllocatorStatistics s) => Row(s).LiveBlocks;
}
