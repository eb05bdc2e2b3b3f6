using Allocator.Heap;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>
/// The page descriptor's derived values: the free fast path's one compare (<see cref="Page.FreeWakeBelow"/>) must
/// send exactly the frees that hit a full page, or empty a page released when empty, to the slow path;
/// <see cref="Page.Used"/> is exact however far the two counters it comes from have run; and the two free tags.
/// </summary>
public unsafe class PageTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void FreeWakeBelowWakesExactlyTheFreesThatNeedTheSlowPath(bool full, bool releaseWhenEmpty)
    {
        var page = default(Page);
        page.SetReleaseWhenEmpty(releaseWhenEmpty);
        page.SetFull(full);
        Assert.Equal(full ? 1 : 0, page.IsFull);
        Assert.Equal(releaseWhenEmpty ? 1 : 0, page.ReleaseWhenEmpty);
        foreach (int usedAfterFree in new[] { 0, 1, 2, 1000, int.MaxValue - 1 })
        {
            bool expected = full || (usedAfterFree == 0 && releaseWhenEmpty);
            Assert.Equal(expected, usedAfterFree < page.FreeWakeBelow);
        }

        // Clearing the flags again leaves a page whose frees never wake the slow path.
        page.SetFull(false);
        page.SetReleaseWhenEmpty(false);
        Assert.Equal(0, page.FreeWakeBelow);
    }

    [Fact]
    public void HeadOfReadsTheSameQueueHeadsAsTheField()
    {
        var heap = default(ThreadHeap);
        for (int c = 0; c < SizeClasses.Count; c++)
        {
            heap.Queue[c] = (ulong)(0x1000 + (c * 16));
        }

        for (int c = 0; c < SizeClasses.Count; c++)
        {
            Assert.True(ThreadHeap.HeadOf(&heap, (nuint)c) == (Page*)heap.Queue[c], $"class {c}");
        }
    }

    [Theory]
    [InlineData(0L, 0, 0)]
    [InlineData(10L, 4, 6)]
    [InlineData((1L << 32) + 5, 3, 2)] // Allocated past 2^32
    [InlineData((3L << 32) + 7, -2, 9)] // Freed wrapped past int.MaxValue (its 32 bits are 2^32 - 2)
    [InlineData(int.MaxValue + 100L, int.MaxValue, 100)]
    public void UsedIsAllocatedLessFreedInThirtyTwoBits(long allocated, int freed, int used)
    {
        var page = default(Page);
        page.Allocated = allocated;
        page.Freed = freed;
        Assert.Equal(used, page.Used);
    }

    [Fact]
    public void BothFreeTagsAreFreeAndNothingAnAllocatedBlockHoldsOnHandOutIs()
    {
        foreach (ulong value in new ulong[] { 0x10000, 0x7F12_3456_7890, 0x7FFF_FFFF_FFF0 })
        {
            nuint address = (nuint)value;
            nuint free = Page.FreeTag((void*)address);
            nuint fresh = Page.FreshTag((void*)address);
            Assert.NotEqual(free, fresh);
            Assert.True(Page.IsFreeTag(free, free));
            Assert.True(Page.IsFreeTag(fresh, free));

            // Handed out, a block's tag is its own address (or 0 when zeroed): neither reads as free.
            Assert.False(Page.IsFreeTag(address, free));
            Assert.False(Page.IsFreeTag(0, free));

            // Nor do the tags of the neighbouring blocks.
            Assert.False(Page.IsFreeTag(Page.FreeTag((void*)(address + 16)), free));
            Assert.False(Page.IsFreeTag(Page.FreshTag((void*)(address - 16)), free));
        }
    }

    [Fact]
    public void TheThreadFreeWordKeepsTheListHeadAndItsLength()
    {
        // The highest block address a segment can hold, and blocks pushed up to the most a page holds (8,192
        // blocks of 16 bytes in a 128 KiB page).
        nint word = 0;
        var last = (Block*)0;
        for (int i = 1; i <= 8192; i++)
        {
            last = (Block*)((1UL << Page.ThreadFreeCountShift) - (16UL * (ulong)i));
            word = Page.ThreadFreePush(word, last);
            Assert.Equal((nuint)last, (nuint)Page.ThreadFreeHead(word));
            Assert.Equal(i, Page.ThreadFreeCount(word));
        }

        Assert.NotEqual(0, word);
        Assert.Equal(0, Page.ThreadFreeCount(0));
        Assert.True(Page.ThreadFreeHead(0) == null);
    }
}
