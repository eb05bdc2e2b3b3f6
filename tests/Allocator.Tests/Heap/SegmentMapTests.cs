using System.Runtime.InteropServices;
using Allocator.Heap;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>
/// The segment map answers, from the pointer alone, whether a block lies in one of our segments and with what page
/// size; the free path finds the block's page from that answer without reading the segment header.
/// </summary>
public unsafe class SegmentMapTests
{
    [Theory]
    [InlineData(64)] // small pages
    [InlineData(16 * 1024)] // medium pages
    [InlineData(128 * 1024)] // one page per segment
    public void ABlockMapsToTheShiftAndPageOfItsSizeClass(int size)
    {
        int c = SizeClasses.Index((nuint)size);
        var blocks = new nint[8];
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i] = (nint)NativeAllocator.Alloc((nuint)size);
        }

        try
        {
            foreach (nint block in blocks)
            {
                nuint p = (nuint)block;
                int shift = SegmentMap.PageShiftOf(p);
                Assert.Equal(SizeClasses.PageShift(c), shift);
                Assert.Equal(shift, SegmentMap.ShiftAt(p >> Segment.Shift));
                Assert.True(SegmentMap.Contains(p));

                Page* page = Segment.PageOf(p, shift);
                Assert.True(page == ((Segment*)(p & ~Segment.Mask))->PageOf(p), "the pointer-only page differs from the header's");
                Assert.Equal(c, page->SizeClass);
                Assert.Equal(SizeClasses.Sizes[c], page->BlockSize);
                Assert.True(page->IsBlockStart(p));
                Assert.False(page->IsBlockStart(p + 16), "a pointer 16 bytes into a block is not a block start");

                // Every byte of the block maps to the same page.
                Assert.True(Segment.PageOf(p + (nuint)size - 1, shift) == page);
            }
        }
        finally
        {
            foreach (nint block in blocks)
            {
                NativeAllocator.Free((void*)block);
            }
        }
    }

    [Fact]
    public void PointersOutsideOurSegmentsMapToZero()
    {
        int local = 0;
        byte[] managed = new byte[64];
        void* native = NativeMemory.Alloc(64);
        void* large = NativeAllocator.Alloc(4 * 1024 * 1024); // its own mapping, not a segment
        try
        {
            fixed (byte* pinned = managed)
            {
                foreach (nuint p in new nuint[] { (nuint)(&local), (nuint)pinned, (nuint)native, (nuint)large, 0, 4096, nuint.MaxValue, (nuint)1 << 47 })
                {
                    Assert.Equal(0, SegmentMap.PageShiftOf(p));
                    Assert.False(SegmentMap.Contains(p));
                }
            }
        }
        finally
        {
            NativeMemory.Free(native);
            NativeAllocator.Free(large);
        }
    }
}
