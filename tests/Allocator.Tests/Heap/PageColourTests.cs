using Allocator.Heap;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>Page colouring: the offsets spread first lines over the cache, keep the alignment promised, and the allocator uses them.</summary>
public unsafe class PageColourTests
{
    private const int LinesPerPage = 4096 / 64;

    [Fact]
    public void TheOffsetsOfAClassPutFirstLinesOnEveryEvenLineOfA4KiBPage()
    {
        foreach (uint size in SizeClasses.Sizes)
        {
            if (size > PageColour.MaxBlockSize)
            {
                Assert.Equal(1u, PageColour.Count(size));
                continue;
            }

            var lines = new HashSet<uint>();
            for (uint page = 0; page < PageColour.Count(size); page++)
            {
                uint offset = PageColour.Offset(size, page);
                Assert.Equal(0u, offset % PageColour.Step);
                Assert.True(offset < size || offset == 0, $"class {size}: offset {offset} is a whole block or more");
                for (uint block = 0; block < 4096; block++)
                {
                    lines.Add((offset + (block * size)) % 4096 / 64);
                }
            }

            for (uint line = 0; line < LinesPerPage; line += 2)
            {
                Assert.True(lines.Contains(line), $"class {size}: no first line falls on line {line} of a 4 KiB page");
            }
        }
    }

    [Fact]
    public void TheOffsetsCycleOverAPowerOfTwoSoConsecutivePagesDiffer()
    {
        Assert.Equal(8u, PageColour.Count(1024));
        Assert.Equal(4u, PageColour.Count(512));
        Assert.Equal(2u, PageColour.Count(768));
        Assert.Equal(1u, PageColour.Count(896)); // 7 line pairs: its blocks already reach every even line
        Assert.Equal(1u, PageColour.Count(64));
        for (uint i = 0; i < 16; i++)
        {
            Assert.Equal(i % 8 * 128, PageColour.Offset(1024, i));
        }
    }

    [Fact]
    public void EveryBlockOfAClassHasTheAlignmentTheAlignedPathReliesOn()
    {
        const uint areaAlignment = (uint)Segment.HeaderSize;
        foreach (uint size in SizeClasses.Sizes)
        {
            uint alignment = PageColour.Alignment(size, areaAlignment);
            Assert.True(alignment >= 16 && (alignment & (alignment - 1)) == 0, $"class {size}: alignment {alignment}");
            for (uint page = 0; page < PageColour.Count(size); page++)
            {
                nuint first = areaAlignment + PageColour.Offset(size, page);
                for (nuint block = 0; block < 64; block++)
                {
                    Assert.Equal((nuint)0, (first + (block * size)) % alignment);
                }
            }
        }

        Assert.Equal(128u, PageColour.Alignment(1024, areaAlignment));
        Assert.Equal(128u, PageColour.Alignment(896, areaAlignment));
        Assert.Equal(4096u, PageColour.Alignment(4096, areaAlignment));
    }

    [Fact]
    public void PagesOf1024ByteBlocksStartAtDifferentOffsetsAndTheirBlocksReachEveryEvenLine()
    {
        OwnThread.Run(() =>
        {
            const int blocks = 2000; // about 16 pages of 127-128 blocks
            var pointers = new List<nint>();
            var starts = new HashSet<nuint>();
            var lines = new HashSet<nuint>();
            for (int i = 0; i < blocks; i++)
            {
                byte* p = (byte*)NativeAllocator.Alloc(1000);
                pointers.Add((nint)p);
                Page* page = Segment.PageOf((nuint)p, Segment.SmallPageShift);
                Assert.Equal(1024u, page->BlockSize);
                Assert.True(page->Start >= page->AreaStart && page->Start - page->AreaStart < 1024);
                starts.Add((nuint)(page->Start - page->AreaStart));
                lines.Add((nuint)p % 4096 / 64);
                Assert.True(p + 1024 <= page->AreaStart + page->AreaSize, "a block runs past its page");
            }

            Assert.True(starts.Count >= 4, $"the pages used only {starts.Count} offsets");
            Assert.True(lines.Count >= 16, $"the blocks' first lines fell on only {lines.Count} lines of a 4 KiB page");
            foreach (nint p in pointers)
            {
                NativeAllocator.Free((void*)p);
            }
        });
    }

    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    [InlineData(1024)]
    public void AlignedBlocksStayAlignedAcrossManyColouredPages(int alignment)
    {
        OwnThread.Run(() =>
        {
            var pointers = new List<nint>();
            foreach (int size in new[] { 16, 100, 500, 1000 })
            {
                for (int i = 0; i < 600; i++)
                {
                    void* p = NativeAllocator.AlignedAlloc((nuint)size, (nuint)alignment);
                    Assert.Equal((nuint)0, (nuint)p % (nuint)alignment);
                    Assert.True(NativeAllocator.UsableSize(p) >= (nuint)size);
                    new Span<byte>(p, size).Fill(3);
                    pointers.Add((nint)p);
                }
            }

            foreach (nint p in pointers)
            {
                NativeAllocator.AlignedFree((void*)p);
            }
        });
    }

    [Fact]
    public void APointerIntoAPagesColourGapIsNotABlockAndTheAllocatorKeepsWorking()
    {
        OwnThread.Run(() =>
        {
            var pointers = new List<nint>();
            Page* coloured = null;
            for (int i = 0; i < 2000 && coloured == null; i++)
            {
                void* p = NativeAllocator.Alloc(1024);
                pointers.Add((nint)p);
                Page* page = Segment.PageOf((nuint)p, Segment.SmallPageShift);
                if (page->Start > page->AreaStart)
                {
                    coloured = page;
                }
            }

            Assert.True(coloured != null, "no page of 1,024-byte blocks had an offset");
            void* gap = coloured->AreaStart;
            var e = Assert.Throws<ArgumentException>(() => NativeAllocator.Free(gap));
            Assert.Contains("does not point to an allocated block", e.Message);
            Assert.Throws<ArgumentException>(() => NativeAllocator.UsableSize(coloured->Start - 16));
            foreach (nint p in pointers)
            {
                NativeAllocator.Free((void*)p);
            }

            void* after = NativeAllocator.Alloc(1024);
            Assert.True(NativeAllocator.UsableSize(after) >= 1024);
            NativeAllocator.Free(after);
        });
    }
}
