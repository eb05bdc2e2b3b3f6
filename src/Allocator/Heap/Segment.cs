using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Allocator.Heap;

/// <summary>
/// A segment: 4 MiB of private anonymous memory aligned to 4 MiB, so that the segment of any block is found by
/// masking the block's address. The first 64 KiB hold this header and the page descriptors; the rest is split
/// into pages of one kind (128 KiB, 512 KiB, or one page of the whole segment).
/// </summary>
/// <remarks>
/// <para>Page i covers [max(i·PageSize, HeaderSize), (i+1)·PageSize) of the segment, so page 0 is the 64 KiB after
/// the header in a small segment and 448 KiB in a medium one, and every page starts 64 KiB-aligned.</para>
/// <para>All fields but the page descriptors' hot fields are guarded by <see cref="Arena"/>'s lock.</para>
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Segment
{
    /// <summary>4 MiB: the size and alignment of a segment.</summary>
    public const int Shift = 22;

    /// <summary>Segment size in bytes.</summary>
    public const nuint Size = (nuint)1 << Shift;

    /// <summary>Mask that turns an address into its segment's base.</summary>
    public const nuint Mask = Size - 1;

    /// <summary>64 KiB: reserved at the segment's start for this header.</summary>
    public const nuint HeaderSize = 64 * 1024;

    /// <summary>
    /// Page shift of small pages (128 KiB). Twice mimalloc's 64 KiB: a class then needs half as many pages, so the
    /// head page of its queue takes a larger share of the class's frees, runs dry half as often, and hands out
    /// recently freed (cached) blocks more often. Random replacement of 8-1024 B blocks: 10-13% faster alone and on
    /// two threads; sh6bench 6-13%, alloc-test 9%, rptest 7% faster; peak RSS of the memory test unchanged (1.09).
    /// The cost: a page is given back only when all its blocks are free, so scattered survivors pin twice as much.
    /// </summary>
    public const int SmallPageShift = 17;

    /// <summary>Page shift of medium pages (512 KiB).</summary>
    public const int MediumPageShift = 19;

    /// <summary>Page shift of large pages (the whole segment).</summary>
    public const int LargePageShift = 22;

    /// <summary>Most pages a segment can hold (small pages).</summary>
    public const int MaxPages = (int)(Size >> SmallPageShift);

    /// <summary>Page shift of this segment's kind.</summary>
    public int PageShift;

    /// <summary>Number of page descriptors: <see cref="Size"/> &gt;&gt; <see cref="PageShift"/> (32, 8 or 1).</summary>
    public int PageCount;

    /// <summary>All usable pages' bits.</summary>
    public ulong UsableMask;

    // The fields above are written once, when the segment is mapped, and PageShift is read by every free; the ones
    // below change under the arena's lock whenever a page is acquired or released. Padding puts them on the next
    // cache line, so a page changing hands on one core does not evict the line every other core's frees read.
    private fixed byte _padding[48];

    /// <summary>Bit i set when page i is free (not used by any heap).</summary>
    public ulong FreeMask;

    /// <summary>Bit i set when page i is free and its memory not yet purged.</summary>
    public ulong DirtyMask;

    /// <summary>Next segment of the same kind in the arena's list.</summary>
    public Segment* Next;

    /// <summary>Previous segment of the same kind in the arena's list.</summary>
    public Segment* Prev;

    /// <summary>When the segment became entirely free (Environment.TickCount64), or 0 while any page is in use.</summary>
    public long EmptySince;

    /// <summary>
    /// The heap whose pages this segment holds, as mimalloc keeps segments thread-owned: set when a heap takes the
    /// first page of an unowned segment, cleared when that heap is abandoned. Other heaps take pages here only when
    /// the OS refuses a new segment. Keeping two threads' pages apart moved the paired two-thread scaling of random
    /// replacement (bench <c>scaling</c>) from a median of 1.43x to 1.59x over 12 alternating processes, and from
    /// 1.56x to 1.61x over 10 more: a small gain at most, inside this VM's noise. A hint for placement only: nothing
    /// else depends on it. Changed under the arena's lock.
    /// </summary>
    public ThreadHeap* Owner;

    /// <summary>Offset of page 0's descriptor from the segment's start (the inspector reads descriptors there too).</summary>
    internal const int PagesOffset = 128;

    /// <summary>Descriptor of page <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Page* PageAt(int index) => (Page*)((byte*)Unsafe.AsPointer(ref this) + PagesOffset) + index;

    /// <summary>Descriptor of the page that contains <paramref name="p"/> (which must lie in this segment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Page* PageOf(nuint p) => PageOf(p, PageShift);

    /// <summary>
    /// The page of the segment that holds <paramref name="p"/>, whose pages are 2^<paramref name="pageShift"/> bytes
    /// (from <see cref="SegmentMap.PageShiftOf"/>): computed from the pointer alone, without reading the header.
    /// </summary>
    /// <remarks>
    /// The page index times the descriptor size (2^7) is the pointer shifted right by <paramref name="pageShift"/> − 7,
    /// masked: with a constant shift (the free fast path's small pages) a shift, a mask and an add.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Page* PageOf(nuint p, int pageShift) =>
        (Page*)((p & ~Mask) + PagesOffset + ((p >> (pageShift - DescriptorShift)) & ((Mask >> pageShift) << DescriptorShift)));

    /// <summary>log2 of sizeof(<see cref="Page"/>), 128 bytes.</summary>
    private const int DescriptorShift = 7;

    /// <summary>Checks at start-up that the header fits.</summary>
    public static void AssertLayout()
    {
        if (sizeof(Segment) > PagesOffset || PagesOffset + (MaxPages * sizeof(Page)) > (int)HeaderSize || sizeof(Page) != 1 << DescriptorShift)
        {
            throw new InvalidOperationException("segment header layout does not fit");
        }
    }
}
