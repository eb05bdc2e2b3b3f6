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
    /// <see cref="Page.FreeTag"/> of this block while it is free, 0 (or user data) while it is allocated.
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
/// <item><see cref="Free"/>, <see cref="Used"/>, <see cref="Capacity"/>, <see cref="IsFull"/> and <see cref="FreeIsZero"/> are
/// read and written only by the owner (or, for abandoned pages, only under <see cref="Arena"/>'s lock).</item>
/// <item><see cref="ThreadFree"/> is the one field other threads write, always with a single compare-and-swap push.
/// The owner takes the whole list with one atomic exchange.</item>
/// <item>Used = Capacity − |Free| − |ThreadFree|: every carved block is either handed out, in the local free list,
/// or in the thread-free list.</item>
/// <item>Blocks with index &lt; Capacity have been carved; memory past Capacity·BlockSize is untouched since the page
/// was acquired, and is zero when <see cref="TailIsZero"/>.</item>
/// <item>A free block's <see cref="Block.Tag"/> equals <see cref="FreeTag"/>(its address); an allocated block's tag is
/// cleared when it is handed out.</item>
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

    /// <summary>Blocks handed out (owner's count; remote frees are subtracted when collected).</summary>
    public int Used;

    /// <summary>Block size in bytes (the size class's size).</summary>
    public uint BlockSize;

    /// <summary>The heap that owns the page (see the invariants).</summary>
    public ThreadHeap* Heap;

    /// <summary>First block's address.</summary>
    public byte* Start;

    /// <summary>floor(2^42 / BlockSize) + 1: offset * DivMagic >> 42 is offset / BlockSize exactly for offsets below 4 MiB.</summary>
    public ulong DivMagic;

    /// <summary>Blocks carved so far.</summary>
    public int Capacity;

    /// <summary>Blocks that fit in the page.</summary>
    public int Reserved;

    /// <summary>Blocks freed by other threads, pushed with one CAS each (a <see cref="Block"/>* as nint).</summary>
    public nint ThreadFree;

    /// <summary>The size class, or -1 when the page is not in use.</summary>
    public int SizeClass;

    /// <summary>1 while the page sits in its owner's full list.</summary>
    public byte IsFull;

    /// <summary>1 when every block in <see cref="Free"/> is zero but for its two link words.</summary>
    public byte FreeIsZero;

    /// <summary>
    /// 1 when the page is released as soon as it becomes empty; 0 for the head of its owner's queue (kept, so an
    /// alloc/free ping-pong does not churn pages), except for large-kind pages, which are never kept.
    /// </summary>
    public byte ReleaseWhenEmpty;

    /// <summary>1 when the memory past the carved blocks is zero (fresh or purged).</summary>
    public byte TailIsZero;

    /// <summary>1 when the whole page's memory is zero (set by purge and for fresh segments, cleared by use).</summary>
    public byte MemoryIsZero;

    // --- cold: slow paths only ---

    /// <summary>Next page in the owner's queue or full list, or in the abandoned list.</summary>
    public Page* Next;

    /// <summary>Previous page in the same list.</summary>
    public Page* Prev;

    /// <summary>When the page became free (Environment.TickCount64), for delayed purging.</summary>
    public long FreedAt;

    /// <summary>Number of bytes available for blocks in this page.</summary>
    public nuint AreaSize;

    /// <summary>Index of this page in its segment.</summary>
    public int Index;

    /// <summary>The tag a free block at <paramref name="block"/> carries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint FreeTag(void* block) => Arena.TagKey ^ (nuint)block;

    /// <summary>
    /// Index of the block that starts exactly at <paramref name="p"/>, or -1 when <paramref name="p"/> is not the
    /// start of a carved block of this page.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long BlockIndex(nuint p)
    {
        // No separate range check is needed: q < Capacity bounds q·BlockSize below the page size, so a pointer before
        // Start (whose offset wraps to a huge number) can never satisfy q·BlockSize == offset.
        nuint offset = p - (nuint)Start;
        ulong q = ((ulong)offset * DivMagic) >> 42;
        return q < (ulong)(uint)Capacity && q * BlockSize == (ulong)offset ? (long)q : -1;
    }
}
