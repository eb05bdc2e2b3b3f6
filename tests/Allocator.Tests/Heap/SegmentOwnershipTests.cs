using Allocator.Heap;
using Allocator.Platform;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>Segments are owned by the heap that takes their first page; other heaps use them only when the OS refuses more.</summary>
[Collection(StatisticsCollection.Name)]
public unsafe class SegmentOwnershipTests
{
    [Fact]
    public void TwoLiveThreadsTakeTheirPagesFromDifferentSegments()
    {
        (nint first, nint second) = WithTwoLiveThreads(() => (nint)NativeAllocator.Alloc(64), () => (nint)NativeAllocator.Alloc(64), out Action release);
        try
        {
            Assert.NotEqual((nuint)first & ~Segment.Mask, (nuint)second & ~Segment.Mask);
        }
        finally
        {
            release();
        }
    }

    [Fact]
    public void WhenTheOsRefusesASegmentAThreadTakesAFreePageFromAnotherThreadsSegment()
    {
        nint second = 0;
        (nint first, _) = WithTwoLiveThreads(
            () => (nint)NativeAllocator.Alloc(48),
            () =>
            {
                NativeAllocator.Free(NativeAllocator.Alloc(20_000)); // creates this thread's heap without a small page
                OsMemory.FailNextMaps = 1_000;
                try
                {
                    second = (nint)NativeAllocator.Alloc(48);
                }
                finally
                {
                    OsMemory.FailNextMaps = 0;
                }

                return second;
            },
            out Action release);
        try
        {
            Assert.NotEqual(0, second);
            *(long*)second = 42;
            Assert.True(NativeAllocator.UsableSize((void*)second) >= 48);
        }
        finally
        {
            release();
        }

        BadInputTests.AssertAllocatorWorks();
    }

    /// <summary>
    /// Runs <paramref name="first"/> on a thread that stays alive, then <paramref name="second"/> on another; each
    /// block is freed by its own thread when <paramref name="release"/> is called.
    /// </summary>
    private static (nint First, nint Second) WithTwoLiveThreads(Func<nint> first, Func<nint> second, out Action release)
    {
        var results = new nint[2];
        var ready = new CountdownEvent(2);
        var finish = new ManualResetEventSlim();
        var threads = new Thread[2];
        Func<nint>[] bodies = [first, second];
        for (int i = 0; i < 2; i++)
        {
            int index = i;
            threads[i] = new Thread(() =>
            {
                results[index] = bodies[index]();
                ready.Signal();
                finish.Wait();
                if (results[index] != 0)
                {
                    NativeAllocator.Free((void*)results[index]);
                }
            });
        }

        threads[0].Start();
        SpinWait.SpinUntil(() => ready.CurrentCount == 1); // the first thread has allocated before the second starts
        threads[1].Start();
        ready.Wait();
        release = () =>
        {
            finish.Set();
            foreach (Thread thread in threads)
            {
                thread.Join();
            }

            ready.Dispose();
            finish.Dispose();
        };
        return (results[0], results[1]);
    }
}
