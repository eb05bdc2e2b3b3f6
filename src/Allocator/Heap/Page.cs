using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Allocator.Heap;

/// <summary>A free block: the first word links the free list, the second holds the free tag.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Block
{
    /// <summary>Next free block in the same list, or null.</summary>
    public Block* Next;

    /// <summary>
    /// <see cref="Page.FreeTag"/> of this block while it is free; while it is allocated, anything else (its own
    /// address or 0 when handed out, then user data).
    /// This word is what makes a double free detectable.
    /// </summary>
    public nuint Tag;
}

/// <summary>
/// A page: a run of memory inside a segment that holds blocks of one size class. The descriptor lives in
/// the segment header, never in the page's own memory.
/// </summary>
/// <remarks>
/// <para>Invariants (owner = the thread whose heap is <see cref="Heap"/>):</para>
/// <list type="bullet">
/// <item><see cref="Free"/>, <see cref="Allocated"/>, <see cref="Freed"/>, <see cref="Capacity"/> and <see cref="IsFull"/> are
/// read and written only by the owner (or, for abandoned pages, only under <see cref="Arena"/>'s lock).</item>
/// <item><see cref="ThreadFree"/> is the one field other threads write, always with a single compare-and-swap push.
/// The owner takes the whole list with one atomic exchange.</item>
/// <item>Used = Capacity − |Free| − |ThreadFree|: every carved block is either handed out, in the local free list,
/// or in the thread-free list. Blocks in the thread-free list are still counted in Used until the owner collects
/// them, which is why the statistics subtract the remote frees not yet collected.</item>
/// <item>Blocks with index &lt; Capacity have been carved; memory past Capacity·BlockSize is untouched since the page
/// was acquired, and is zero when <see cref="TailIsZero"/>.</item>
/// <item>A free block's <see cref="Block.Tag"/> equals <see cref="FreeTag"/>(its address), or <see cref="FreshTag"/>(its
/// address) when the block has never been handed out and its memory is zero but for the two link words (carved
/// from zero memory); an allocated block's tag is overwritten when it is handed out (with its address, or 0 for a
/// zeroed block), and neither tag equals its block's address because <see cref="Arena.TagKey"/> is above 1.</item>
/// <item><see cref="Heap"/> is never null: an owned page points to its heap, an abandoned page to
/// <see cref="Arena.AbandonedHeap"/>, a page not in use to <see cref="Arena.FreePageHeap"/>. Threads without a heap
/// have a null heap pointer, so they can never match.</item>
/// </list>
/// </remarks>
[StructLayout(LayoutKind.Sequential, Size = 128)]
internal unsafe struct Page
{
    // --- hot: the first 64 bytes, read on every allocation and free ---

    /// <summary>Owner's free list; allocation pops from it, local frees push onto it.</summary>
    public Block* Free;

    /// <summary>
    /// Blocks given back to this page since it was given its class, modulo 2^32: local frees one by one, remote frees
    /// when the owner collects them. With <see cref="Allocated"/> it makes <see cref="Used"/>, so that an allocation
    /// writes one counter, not two.
    /// </summary>
    public int Freed;

    /// <summary>Block size in bytes (the size class's size).</summary>
    public uint BlockSize;

    /// <summary>The heap that owns the page (see the invariants).</summary>
    public ThreadHeap* Heap;

    /// <summary>First block's address: <see cref="AreaStart"/> plus the page's colour offset (see <see cref="PageColour"/>), set when the page is given its class.</summary>
    public byte* Start;

    /// <summary>
    /// The inverse modulo 2^64 of BlockSize's odd part (see <see cref="InverseOf"/>): what turns the exact-division
    /// check of <see cref="BlockIndex"/> into one multiply and one rotate.
    /// </summary>
    public ulong DivInverse;

    /// <summary>Blocks carved so far. A 64-bit field, so that the free path's block check compares with it in memory.</summary>
    public long Capacity;

    /// <summary>
    /// Blocks handed out from this page since it was given its class (owner-written, one increment per allocation,
    /// on the line the allocation already writes). The allocation count of the statistics is the sum of this over the
    /// pages in use plus what released pages had (folded into the arena's totals when a page is released).
    /// </summary>
    public long Allocated;

    /// <summary>
    /// Blocks handed out and not given back (remote frees count once the owner collects them): <see cref="Allocated"/>
    /// − <see cref="Freed"/>, in 32-bit arithmetic, which is exact because a page holds far fewer than 2^31 blocks.
    /// </summary>
    public readonly int Used => UsedOf(Allocated, Freed);

    /// <summary>
    /// <see cref="Used"/> from the two counters as read by the caller (the free path with the count it has just
    /// written, the statistics with volatile reads).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int UsedOf(long allocated, int freed) => unchecked((int)allocated - freed);

    /// <summary>
    /// A local free calls <see cref="Arena"/>'s AfterLocalFree when the page's <see cref="Used"/> after it is below
    /// this: <see cref="int.MaxValue"/> while <see cref="IsFull"/> (every free), 1 when
    /// <see cref="ReleaseWhenEmpty"/> (the free that empties it), else 0 (never). Kept by <see cref="SetFull"/> and
    /// <see cref="SetReleaseWhenEmpty"/>, so that the free fast path makes one compare instead of three tests.
    /// </summary>
    public int FreeWakeBelow;

    /// <summary>The number of trailing zero bits of <see cref="BlockSize"/> (the power of two in it), for <see cref="IsBlockStart"/>.</summary>
    public byte BlockShift;

    /// <summary>1 while the page sits in its owner's full list (set with <see cref="SetFull"/>).</summary>
    public readonly byte IsFull => _isFull;

    private byte _isFull;

    /// <summary>
    /// 1 when the page is released as soon as it becomes empty; 0 for the head of its owner's queue (kept, so an
    /// alloc/free ping-pong does not churn pages), except for large-kind pages, which are never kept.
    /// Set with <see cref="SetReleaseWhenEmpty"/>.
    /// </summary>
    public readonly byte ReleaseWhenEmpty => _releaseWhenEmpty;

    private byte _releaseWhenEmpty;

    // --- cold: slow paths only ---

    /// <summary>
    /// Blocks freed by other threads, pushed with one CAS each: the list's first block in the low
    /// <see cref="ThreadFreeCountShift"/> bits and the list's length above them (see <see cref="ThreadFreeHead"/>,
    /// <see cref="ThreadFreeCount"/>), 0 when empty. The length is what lets the owner take the whole list with one
    /// exchange without walking it: the blocks were written by other threads, so each link read would be a cache
    /// miss on another core's line. On the second line, so that other threads' pushes do not take the line the
    /// owner's fast paths use.
    /// </summary>
    public nint ThreadFree;

    /// <summary>Next page in the owner's queue or full list, or in the abandoned list.</summary>
    public Page* Next;

    /// <summary>Previous page in the same list.</summary>
    public Page* Prev;

    /// <summary>When the page became free (Environment.TickCount64), for delayed purging.</summary>
    public long FreedAt;

    /// <summary>Number of bytes available for blocks in this page, from <see cref="AreaStart"/>.</summary>
    public nuint AreaSize;

    /// <summary>Where the page's memory for blocks begins (fixed when its segment is mapped); what purging works on.</summary>
    public byte* AreaStart;

    /// <summary>Index of this page in its segment.</summary>
    public int Index;

    /// <summary>Blocks that fit in the page.</summary>
    public int Reserved;

    /// <summary>The size class, or -1 when the page is not in use. Read by remote frees, which write this line anyway.</summary>
    public short SizeClass;

    /// <summary>1 when the memory past the carved blocks is zero (fresh or purged).</summary>
    public byte TailIsZero;

    /// <summary>1 when the whole page's memory is zero (set by purge and for fresh segments, cleared by use).</summary>
    public byte MemoryIsZero;

    /// <summary>
    /// Where the length starts in <see cref="ThreadFree"/>: every block lies in a segment below 2^47 (the segment map
    /// covers no more), and a page holds fewer than 2^17 blocks, each pushed at most once before the owner collects.
    /// </summary>
    public const int ThreadFreeCountShift = 47;

    /// <summary>The first block of a <see cref="ThreadFree"/> word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block* ThreadFreeHead(nint word) => (Block*)((ulong)word & ((1UL << ThreadFreeCountShift) - 1));

    /// <summary>The number of blocks in the list of a <see cref="ThreadFree"/> word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ThreadFreeCount(nint word) => (int)((ulong)word >> ThreadFreeCountShift);

    /// <summary>The <see cref="ThreadFree"/> word after pushing <paramref name="block"/> onto the list of <paramref name="word"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint ThreadFreePush(nint word, Block* block) =>
        (nint)((ulong)block | (((ulong)word >> ThreadFreeCountShift) + 1) << ThreadFreeCountShift);

    /// <summary>Marks the page as in its owner's full list or not.</summary>
    public void SetFull(bool full)
    {
        _isFull = full ? (byte)1 : (byte)0;
        UpdateFreeWake();
    }

    /// <summary>Sets whether the page is released as soon as it becomes empty.</summary>
    public void SetReleaseWhenEmpty(bool release)
    {
        _releaseWhenEmpty = release ? (byte)1 : (byte)0;
        UpdateFreeWake();
    }

    private void UpdateFreeWake() => FreeWakeBelow = _isFull != 0 ? int.MaxValue : _releaseWhenEmpty;

    /// <summary>The tag a free block at <paramref name="block"/> carries (once it has held data: see <see cref="FreshTag"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint FreeTag(void* block) => Arena.TagKey ^ (nuint)block;

    /// <summary>
    /// The tag of a free block at <paramref name="block"/> that has never been handed out and whose memory is zero
    /// but for its two link words: <see cref="FreeTag"/> with its lowest bit flipped (block addresses are multiples of
    /// 16, so the two never meet). A zeroed allocation that pops such a block clears only the link words.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint FreshTag(void* block) => FreeTag(block) ^ 1;

    /// <summary>The tag of a block just carved: <see cref="FreshTag"/> when its memory is zero (<paramref name="fresh"/>), else <see cref="FreeTag"/>.</summary>
    public static nuint CarvedTag(void* block, bool fresh) => fresh ? FreshTag(block) : FreeTag(block);

    /// <summary>
    /// True when <paramref name="tag"/>, read from the block whose <see cref="FreeTag"/> is <paramref name="freeTag"/>,
    /// marks it free (either tag): the double-free check.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsFreeTag(nuint tag, nuint freeTag) => (tag ^ freeTag) <= 1;

    /// <summary>
    /// Index of the block that starts exactly at <paramref name="p"/>, or -1 when <paramref name="p"/> is not the
    /// start of a carved block of this page.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long BlockIndex(nuint p) => IndexAt(p - (nuint)Start, DivInverse, BlockShift, (int)Capacity);

    /// <summary>True when <paramref name="p"/> is the start of a carved block of this page (the free path's check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool IsBlockStart(nuint p) =>
        BitOperations.RotateRight((ulong)(p - (nuint)Start) * DivInverse, BlockShift) < (ulong)Capacity; // Quotient, written out: the multiply then reads the inverse from memory

    /// <summary>
    /// offset / (d0·2^<paramref name="shift"/>) when the division is exact and the quotient is below
    /// <paramref name="capacity"/>, else -1, where <paramref name="inverse"/> = <see cref="InverseOf"/>(d).
    /// </summary>
    /// <remarks>
    /// The exact-division test of Granlund and Montgomery: multiplying by the odd part's inverse maps the multiples
    /// m·d (m·2^shift before the rotate) to m, and every other 64-bit value, a wrapped negative offset included, to
    /// a number of at least 2^64 / d (low bits that are not zero are rotated to the top). Since capacity·d fits in a
    /// segment, far below 2^64, one unsigned compare checks divisibility and range together.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long IndexAt(nuint offset, ulong inverse, int shift, int capacity)
    {
        ulong q = Quotient(offset, inverse, shift);
        return q < (ulong)(uint)capacity ? (long)q : -1;
    }

    /// <summary>offset / d when d divides offset, else a number of at least 2^64 / d (see <see cref="IndexAt"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Quotient(nuint offset, ulong inverse, int shift) => BitOperations.RotateRight((ulong)offset * inverse, shift);

    /// <summary>The inverse modulo 2^64 of the odd part of <paramref name="size"/> (size ≥ 1).</summary>
    public static ulong InverseOf(uint size)
    {
        ulong odd = size >> BitOperations.TrailingZeroCount(size);

        // Newton's iteration x ← x·(2 − odd·x) doubles the number of correct low bits; odd is its own inverse
        // modulo 8 (3 bits), so five steps give 96 ≥ 64.
        ulong x = odd;
        for (int i = 0; i < 5; i++)
        {
            x *= 2 - (odd * x);
        }

        return x;
    }
}
