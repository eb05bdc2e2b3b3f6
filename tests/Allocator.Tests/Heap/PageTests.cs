using Allocator.Heap;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>
/// The page descriptor's derived field: the free fast path's one compare (<see cref="Page.FreeWakeBelow"/>) must
/// send exactly the frees that hit a full page, or empty a page released when empty, to the slow path.
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
            Assert.True(ThreadHeap.HeadOf(&heap, (nuint)c) == heap.Head(c), $"class {c}");
        }
    }
}
