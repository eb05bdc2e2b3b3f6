using Allocator.Heap;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>
/// What the allocation path knows about a block from its tag: a block carved from zero memory and never handed out
/// carries <see cref="Page.FreshTag"/>, so a zeroed allocation clears only its link words, while a block that has
/// held data carries <see cref="Page.FreeTag"/> and is cleared whole; and both tags count as free to the double-free
/// check.
/// </summary>
public unsafe class ArenaAllocTests
{
    private const int Size = 460; // a class few other tests use; pages are carved about 4 KiB (8 blocks) at a time

    /// <summary>
    /// The most blocks a test allocates while it looks for a fresh one: pages that are not zero (abandoned by threads
    /// of other tests, or freed after this test's Collect) come first, and 20,000 blocks of 512 bytes outlast 78 of them.
    /// </summary>
    private const int MaxBlocks = 20_000;

    [Fact]
    public void ZeroedAllocationsAreZeroWhetherTheBlockIsFreshOrReused()
    {
        OwnThread.Run(() =>
        {
            NativeAllocator.Collect(force: true); // every free page purged: the pages this thread gets are zero
            var blocks = new List<nint>();
            int fresh = 0;

            // At least 200 blocks, and more until one of them has a fresh block next in line: tests running beside
            // this one can leave pages that are not zero for it to take first (a page abandoned by an exited thread,
            // or one freed after the Collect above), and those carry no fresh blocks.
            for (int i = 0; i < 200 || (fresh == 0 && i < MaxBlocks); i++)
            {
                nint b = NextBlock(blocks, zeroed: true);
                fresh += IsFreshFreeBlock(b + (nint)NativeAllocator.UsableSize((void*)b)) ? 1 : 0;
            }

            foreach (nint b in blocks)
            {
                new Span<byte>((void*)b, Size).Fill(0xCD);
            }

            // Give back every other block: the free lists now mix dirty blocks with fresh ones never handed out.
            for (int i = 0; i < blocks.Count; i += 2)
            {
                NativeAllocator.Free((void*)blocks[i]);
                blocks[i] = 0;
            }

            blocks.RemoveAll(b => b == 0);
            int reusedBefore = blocks.Count;
            for (int i = 0; i < 300; i++)
            {
                nint b = NextBlock(blocks, zeroed: true);
                Assert.True(new Span<byte>((void*)b, Size).IndexOfAnyExcept((byte)0) < 0, $"zeroed block {i} is not zero");
            }

            Assert.True(fresh > 0, "no fresh block was ever next in line, so the fresh path was not exercised");
            Assert.Equal(reusedBefore + 300, blocks.Count);
            foreach (nint b in blocks)
            {
                NativeAllocator.Free((void*)b);
            }
        });
    }

    [Fact]
    public void FreeingABlockThatWasCarvedButNeverHandedOutIsADoubleFree()
    {
        OwnThread.Run(() =>
        {
            NativeAllocator.Collect(force: true);
            var blocks = new List<nint>();
            nint fresh = 0;
            for (int i = 0; i < MaxBlocks && fresh == 0; i++)
            {
                nint b = NextBlock(blocks, zeroed: false);
                nint next = b + (nint)NativeAllocator.UsableSize((void*)b);
                if (IsFreshFreeBlock(next))
                {
                    fresh = next;
                }
            }

            Assert.True(fresh != 0, "no block carved from zero memory found next to an allocated one");
            var e = Assert.Throws<InvalidOperationException>(() => NativeAllocator.Free((void*)fresh));
            Assert.Contains("double free", e.Message);

            // The block is still free and still fresh: the allocator hands it out as usual, zeroed for free.
            nint again = 0;
            for (int i = 0; i < MaxBlocks && again != fresh; i++)
            {
                again = NextBlock(blocks, zeroed: true);
            }

            Assert.Equal(fresh, again);
            Assert.True(new Span<byte>((void*)again, Size).IndexOfAnyExcept((byte)0) < 0);
            foreach (nint b in blocks)
            {
                NativeAllocator.Free((void*)b);
            }
        });
    }

    /// <summary>Allocates a block of <see cref="Size"/> bytes and records it.</summary>
    private static nint NextBlock(List<nint> blocks, bool zeroed)
    {
        nint b = (nint)(zeroed ? NativeAllocator.AllocZeroed(Size) : NativeAllocator.Alloc(Size));
        blocks.Add(b);
        return b;
    }

    /// <summary>True when <paramref name="p"/> starts a carved block of an arena page that carries the fresh tag.</summary>
    private static bool IsFreshFreeBlock(nint p)
    {
        if (!SegmentMap.Contains((nuint)p))
        {
            return false;
        }

        Page* page = ((Segment*)((nuint)p & ~Segment.Mask))->PageOf((nuint)p);
        return page->Start != null && page->BlockIndex((nuint)p) >= 0 && ((Block*)p)->Tag == Page.FreshTag((void*)p);
    }
}
