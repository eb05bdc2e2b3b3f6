namespace Allocator.Inspect;

/// <summary>What <c>allocator-inspect heap</c> found in a process: per size class, totals, large blocks, and every segment's pages.</summary>
/// <param name="ProcessId">The inspected process.</param>
/// <param name="ProcessName">Its command name.</param>
/// <param name="SizeClasses">One row per size class that has pages in use, in size order.</param>
/// <param name="Totals">Sums and the allocator's own counters.</param>
/// <param name="LargeBlocks">Live large blocks (each its own mapping), by address.</param>
/// <param name="LargeCache">Freed large ranges kept for reuse, by address.</param>
/// <param name="Segments">Every segment with every page slot, for the picture and for scripts.</param>
/// <param name="Warnings">Anything that did not add up (a list that ended outside its page, say), one line each.</param>
public sealed record HeapReport(
    int ProcessId,
    string ProcessName,
    IReadOnlyList<SizeClassReport> SizeClasses,
    HeapTotals Totals,
    IReadOnlyList<AddressRange> LargeBlocks,
    IReadOnlyList<AddressRange> LargeCache,
    IReadOnlyList<SegmentReport> Segments,
    IReadOnlyList<string> Warnings);

/// <summary>One size class, summed over its pages.</summary>
/// <param name="Class">The class index (0 for 16 bytes).</param>
/// <param name="BlockSize">Block size in bytes.</param>
/// <param name="Pages">Pages of this class in use.</param>
/// <param name="LiveBlocks">Blocks allocated and not freed.</param>
/// <param name="FreeBlocks">Blocks the pages could still hand out: free lists, blocks freed by other threads and not yet collected, and blocks not carved yet.</param>
/// <param name="ThreadFreeBlocks">Of <paramref name="FreeBlocks"/>, those freed by other threads and waiting in a page's thread-free list.</param>
/// <param name="LiveBytes">LiveBlocks × BlockSize.</param>
/// <param name="FreeBytes">FreeBlocks × BlockSize.</param>
public sealed record SizeClassReport(int Class, int BlockSize, int Pages, long LiveBlocks, long FreeBlocks, long ThreadFreeBlocks, long LiveBytes, long FreeBytes);

/// <summary>Totals of a heap report.</summary>
/// <param name="Segments">Segments mapped.</param>
/// <param name="ThreadHeaps">Thread heaps registered.</param>
/// <param name="Pages">Pages in use.</param>
/// <param name="AbandonedPages">Of those, pages of exited threads not yet adopted.</param>
/// <param name="LiveBlocks">Live blocks in all size classes.</param>
/// <param name="FreeBlocks">Free blocks in pages in use.</param>
/// <param name="ArenaLiveBytes">Bytes in live small and medium blocks.</param>
/// <param name="PageBytes">Bytes of the pages in use (their block areas).</param>
/// <param name="Fragmentation">1 − ArenaLiveBytes / PageBytes: the share of pages in use that holds no live block (0 when no page is in use).</param>
/// <param name="LargeBlocks">Live large blocks.</param>
/// <param name="LargeBytes">Bytes in live large blocks.</param>
/// <param name="LargeCacheBytes">Bytes of freed large ranges kept for reuse.</param>
/// <param name="BytesInUse">ArenaLiveBytes + LargeBytes.</param>
/// <param name="BytesCommitted">The allocator's committed-bytes counter.</param>
/// <param name="BytesReserved">The allocator's reserved-bytes counter.</param>
public sealed record HeapTotals(
    long Segments,
    int ThreadHeaps,
    int Pages,
    int AbandonedPages,
    long LiveBlocks,
    long FreeBlocks,
    long ArenaLiveBytes,
    long PageBytes,
    double Fragmentation,
    long LargeBlocks,
    long LargeBytes,
    long LargeCacheBytes,
    long BytesInUse,
    long BytesCommitted,
    long BytesReserved);

/// <summary>A range of the target's address space.</summary>
/// <param name="Address">First byte.</param>
/// <param name="Size">Length in bytes.</param>
public sealed record AddressRange(ulong Address, ulong Size);

/// <summary>One 4 MiB segment and its page slots.</summary>
/// <param name="Address">The segment's base (4 MiB-aligned).</param>
/// <param name="PageSize">Bytes per page: 128 KiB, 512 KiB or 4 MiB.</param>
/// <param name="Pages">Every page slot, in address order, the header slot included.</param>
public sealed record SegmentReport(ulong Address, int PageSize, IReadOnlyList<PageReport> Pages);

/// <summary>One page slot of a segment.</summary>
/// <param name="Index">Slot index in the segment.</param>
/// <param name="State">"header" (the segment header, never used), "free", "used", or "abandoned" (its thread exited).</param>
/// <param name="BlockSize">Block size, 0 unless used or abandoned.</param>
/// <param name="LiveBlocks">Live blocks.</param>
/// <param name="Reserved">Blocks that fit in the page.</param>
/// <param name="ThreadFreeBlocks">Blocks freed by other threads, not yet collected.</param>
public sealed record PageReport(int Index, string State, int BlockSize, int LiveBlocks, int Reserved, int ThreadFreeBlocks)
{
    /// <summary>LiveBlocks / Reserved: 0 for an empty or unused page, 1 for a full one.</summary>
    public double Fullness => Reserved == 0 ? 0 : (double)LiveBlocks / Reserved;
}
