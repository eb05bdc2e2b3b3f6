using Allocator.Heap;
using Allocator.Platform;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>
/// The stack map finds the calling thread's heap from its stack address. Its one safety property: it never
/// returns a heap the calling thread does not own, even on a stack that a thread which just exited used.
/// </summary>
[Collection(StatisticsCollection.Name)]
public unsafe class StackMapTests
{
    [Fact]
    public void TheExitHookAndTheStackRangeAreAvailableOnThisPlatform()
    {
        // Without them every lookup misses and the fast paths fall back to thread statics: correct but slower,
        // so CI should notice.
        Assert.True(OsThread.ExitHookAvailable, "pthread key with pthread_spin_unlock as destructor could not be created");
        Assert.True(OsThread.TryGetCurrentStack(out nuint low, out nuint size), "pthread_getattr_np failed");
        byte local;
        nuint here = (nuint)(&local);
        Assert.InRange(here, low, low + size - 1);
    }

    [Fact]
    public void AfterAFewSlowPathsAThreadIsFoundByItsStack()
    {
        ThreadHeap* found = null, own = null;
        var thread = new Thread(() =>
        {
            // Medium blocks take the slow path every time. Another live thread's heap may hold this stack's slot
            // (the map is a hash); the thread takes the slot over after a bounded number of slow paths.
            for (int i = 0; i <= StackMap.ConflictsBeforeSteal; i++)
            {
                NativeAllocator.Free(NativeAllocator.Alloc(20_000));
            }

            found = StackMap.Current();
            own = Arena.t_heap;
        });
        thread.Start();
        thread.Join();
        Assert.True(own != null);
        Assert.True(found == own, "the map should know a thread's heap after a bounded number of slow paths");
    }

    [Fact]
    public void AThreadOnTheStackOfAThreadThatExitedNeverGetsThatThreadsHeap()
    {
        // glibc hands a finished thread's stack to the next thread created, so consecutive short-lived threads run
        // on the same addresses. Each one, before it allocates anything, must not be given its predecessor's heap,
        // and after its first allocation must be given only its own.
        int sameStack = 0;
        nuint previousStack = 0;
        for (int i = 0; i < 300; i++)
        {
            string? failure = null;
            nuint stack = 0;
            var thread = new Thread(() =>
            {
                byte local;
                stack = (nuint)(&local);
                ThreadHeap* before = StackMap.Current();
                if (before != null)
                {
                    failure = $"thread {i}: a thread with no heap yet was given heap {(nint)before:x}";
                    return;
                }

                void* block = NativeAllocator.Alloc(48);
                ThreadHeap* after = StackMap.Current();
                if (after != null && after != Arena.t_heap)
                {
                    failure = $"thread {i}: given heap {(nint)after:x}, owns {(nint)Arena.t_heap:x}";
                }

                NativeAllocator.Free(block);
            }, 256 * 1024);
            thread.Start();
            thread.Join();
            Assert.Null(failure);
            if (stack / 4096 == previousStack / 4096)
            {
                sameStack++;
            }

            previousStack = stack;
        }

        // The test means something only if stacks were really reused.
        Assert.True(sameStack > 100, $"only {sameStack} of 300 threads ran on their predecessor's stack page");
    }

    [Fact]
    public void TheOptionTurnsTheStackMapOff()
    {
        Assert.Equal("True", Probe.Run("stackmap")["found"]);
        Assert.Equal("False", Probe.Run("stackmap", ("ALLOCATOR_STACK_MAP", "0"))["found"]);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("0")]
    public void AllocationAndFreeWorkWithTheMapOnAndOff(string option)
    {
        // With the map off the fast paths test ownership through the thread-static instead: blocks stay intact,
        // frees from the owner and from another thread both land, double frees are caught, nothing leaks.
        var found = Probe.Run("heap-work", ("ALLOCATOR_STACK_MAP", option));
        Assert.Equal(option == "1" ? "True" : "False", found["stack-map"]);
        Assert.Equal("True", found["intact"]);
        Assert.Equal("double free", found["double-free-local"]);
        Assert.Equal("double free", found["double-free-remote"]);
        Assert.Equal("0", found["live-blocks-added"]);
    }

    [Fact]
    public void AThreadsExitMakesItsHeapUnmatchable()
    {
        ThreadHeap* heap = null;
        var thread = new Thread(() =>
        {
            NativeAllocator.Free(NativeAllocator.Alloc(32));
            heap = Arena.t_heap;
        });
        thread.Start();
        thread.Join();
        Assert.True(heap != null);

        // The hook runs as the OS thread ends, which may be just after Join returns.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while ((Volatile.Read(ref heap->StackLow) >> 37) != 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(1);
        }

        Assert.True((ulong)heap->StackLow < (1UL << 37), "the exit hook spoils the low address");
    }

    [Fact]
    public void ConcurrentThreadsAlwaysGetTheirOwnHeap()
    {
        // Threads start and stop while others run, so stacks are reused under concurrency; every lookup that
        // answers must answer with the caller's own heap.
        int failures = 0;
        var workers = new Thread[4];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = new Thread(() =>
            {
                for (int round = 0; round < 40; round++)
                {
                    var inner = new Thread(() =>
                    {
                        for (int i = 0; i < 2000; i++)
                        {
                            void* block = NativeAllocator.Alloc((nuint)(16 + (i % 200)));
                            ThreadHeap* found = StackMap.Current();
                            if (found != null && found != Arena.t_heap)
                            {
                                Interlocked.Increment(ref failures);
                            }

                            NativeAllocator.Free(block);
                        }
                    }, 256 * 1024);
                    inner.Start();
                    inner.Join();
                }
            });
            workers[w].Start();
        }

        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        Assert.Equal(0, failures);
    }
}
