namespace Allocator.Diagnostics;

/// <summary>A snapshot of the allocator's state, from <see cref="NativeAllocator.GetStatistics"/>.</summary>
/// <remarks>
/// Counts are exact when no other thread is allocating or freeing while the snapshot is taken; otherwise each is
/// a value it had during the call. Arena blocks are counted from the pages themselves (each page counts its live
/// blocks and the blocks it has handed out; a block freed by another thread is counted as freed from that moment,
/// though its page's owner takes it back later), so a snapshot walks the pages in use.
/// <see cref="PeakBytesInUse"/> is sampled when a large block is mapped, when the pages in use grow by 1/32 (at
/// least 8 pages) past the last sample, on every 64th page acquired, and at each snapshot, so it can miss a
/// short peak by a few percent.
/// </remarks>
public sealed class AllocatorStatistics
{
    /// <summary>Bytes in live blocks, counted at their usable sizes (size class, or mapped size for large blocks).</summary>
    public long BytesInUse { get; init; }

    /// <summary>The highest <see cref="BytesInUse"/> seen (sampled at page granularity).</summary>
    public long PeakBytesInUse { get; init; }

    /// <summary>Bytes of memory the allocator holds that may be backed by physical pages (in use, free but not yet purged, or metadata).</summary>
    public long BytesCommitted { get; init; }

    /// <summary>The highest <see cref="BytesCommitted"/> seen.</summary>
    public long PeakBytesCommitted { get; init; }

    /// <summary>Bytes of address space the allocator has mapped (segments and large mappings, cached ones included).</summary>
    public long BytesReserved { get; init; }

    /// <summary>Allocations so far (every successful Alloc, AllocZeroed, AlignedAlloc, and each Realloc that moved a block).</summary>
    public long Allocations { get; init; }

    /// <summary>Frees so far (including the old block of each Realloc that moved it).</summary>
    public long Frees { get; init; }

    /// <summary>Live blocks: <see cref="Allocations"/> − <see cref="Frees"/>.</summary>
    public long LiveBlocks => Allocations - Frees;

    /// <summary>Live large blocks (each in its own mapping).</summary>
    public long LargeBlocks { get; init; }

    /// <summary>Bytes in live large blocks.</summary>
    public long LargeBytesInUse { get; init; }

    /// <summary>Bytes of freed large mappings kept in the reuse cache.</summary>
    public long LargeCacheBytes { get; init; }

    /// <summary>Segments mapped now (4 MiB each).</summary>
    public long Segments { get; init; }

    /// <summary>Thread heaps in use.</summary>
    public int ThreadHeaps { get; init; }

    /// <summary>mmap (and mremap) calls made so far.</summary>
    public long OsMapCalls { get; init; }

    /// <summary>munmap calls made so far.</summary>
    public long OsUnmapCalls { get; init; }

    /// <summary>madvise(MADV_DONTNEED) calls made so far.</summary>
    public long OsPurgeCalls { get; init; }

    /// <summary>One row per size class.</summary>
    public IReadOnlyList<SizeClassStatistics> SizeClasses { get; init; } = [];

    /// <inheritdoc/>
    public override string ToString() =>
        $"in use {BytesInUse} B (peak {PeakBytesInUse}), committed {BytesCommitted} B, reserved {BytesReserved} B, " +
        $"{Allocations} allocations, {Frees} frees, {Segments} segments, {LargeBlocks} large blocks";
}

/// <summary>One size class's row in <see cref="AllocatorStatistics.SizeClasses"/>.</summary>
public sealed class SizeClassStatistics
{
    /// <summary>Block size of the class, in bytes.</summary>
    public int BlockSize { get; init; }

    /// <summary>Blocks allocated and not yet freed.</summary>
    public long LiveBlocks { get; init; }

    /// <summary>Blocks free in pages of this class (carved or not yet carved).</summary>
    public long FreeBlocks { get; init; }

    /// <summary>Pages in use by this class.</summary>
    public int Pages { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{BlockSize} B: {LiveBlocks} live, {FreeBlocks} free, {Pages} pages";
}
