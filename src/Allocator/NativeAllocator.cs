using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Allocator.Diagnostics;
using Allocator.Heap;
using Allocator.Platform;

namespace Allocator;

/// <summary>
/// A drop-in twin of <see cref="NativeMemory"/>: the same methods with the same contracts, served by this
/// library's allocator (thread-local size-class arenas for blocks up to 256 KiB, a private mapping per larger
/// block), plus <see cref="UsableSize"/>, <see cref="Collect"/> and <see cref="GetStatistics"/>.
/// Replacing <c>NativeMemory.</c> with <c>NativeAllocator.</c> is the whole migration.
/// </summary>
/// <remarks>
/// <para><b>Contracts kept from NativeMemory:</b> a size of 0 gives a unique non-null pointer that must be freed;
/// an element count times size that overflows, or an impossible size, throws <see cref="OutOfMemoryException"/>;
/// an alignment that is 0 or not a power of two throws <see cref="ArgumentException"/>; <c>Realloc(null, n)</c> is
/// <c>Alloc(n)</c>; <c>Free(null)</c> does nothing.</para>
/// <para><b>Free and AlignedFree are interchangeable:</b> both accept any block from this allocator, aligned or
/// not, and so do <see cref="Realloc"/>, <see cref="AlignedRealloc"/> and <see cref="UsableSize"/>.</para>
/// <para><b>Bad pointers throw instead of corrupting memory:</b> a pointer this allocator did not return (a stack
/// address, a managed array, memory from NativeMemory, a pointer into the middle of a block) gives an
/// <see cref="ArgumentException"/>; freeing a block that is still free gives an <see cref="InvalidOperationException"/>
/// ("double free"). The allocator stays usable afterwards.</para>
/// <para>Every block of 16 bytes or more is 16-byte aligned. Alignments up to 4 MiB (and beyond) are supported.</para>
/// </remarks>
public static unsafe class NativeAllocator
{
    /// <summary>
    /// Arena blocks that Realloc grows to this size or more move to the large path (see <see cref="Realloc"/>): 8 KiB.
    /// </summary>
    /// <remarks>
    /// Below it a growing block is copied from size class to size class; on the large path its later growths take
    /// the free range after it, or mremap, without copying. Measured with the ReallocGrowth micro benchmark (16 B to
    /// 1 MiB in steps of 1.5×, 8 chains; BenchmarkDotNet, 15 iterations, each threshold in its own run): 23.5 µs at
    /// 32 KiB, 12.8 µs at 16 KiB, 8.4 µs at 8 KiB, where glibc takes 12.5 µs when it can extend at its heap top and
    /// 30–100 µs when it cannot. The price: such a block is page-granular (at most 4 KiB more than asked, where a
    /// size class gives at most 25%), and takes the large path's gate, and a system call when no cached range fits.
    /// Plain allocations keep the arena up to 256 KiB.
    /// </remarks>
    internal const int ReallocToLargeThreshold = 8 * 1024;

    /// <summary>Allocates a block of at least <paramref name="byteCount"/> bytes (uninitialised).</summary>
    /// <param name="byteCount">The size of the block, in bytes. 0 gives a unique pointer that must be freed.</param>
    /// <returns>A pointer to the block, never null.</returns>
    /// <exception cref="OutOfMemoryException">The OS refused memory, or the size is impossible.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void* Alloc(nuint byteCount) =>
        AllocatorOptions.Checked ? CheckedHeap.Alloc(byteCount, 0, false) : AllocUnchecked(byteCount);

    /// <summary>Alloc without checked mode.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void* AllocUnchecked(nuint byteCount) =>
        byteCount <= SizeClasses.LookupMax ? Arena.AllocSmall(byteCount) : AllocLarger(byteCount, false);

    /// <summary>Allocates a block for <paramref name="elementCount"/> elements of <paramref name="elementSize"/> bytes.</summary>
    /// <param name="elementCount">The number of elements.</param>
    /// <param name="elementSize">The size of each element, in bytes.</param>
    /// <returns>A pointer to the block, never null.</returns>
    /// <exception cref="OutOfMemoryException">The product overflows, or the OS refused memory.</exception>
    public static void* Alloc(nuint elementCount, nuint elementSize) => Alloc(Multiply(elementCount, elementSize));

    /// <summary>Allocates a block of at least <paramref name="byteCount"/> bytes, all zero.</summary>
    /// <param name="byteCount">The size of the block, in bytes.</param>
    /// <returns>A pointer to the block, never null.</returns>
    /// <exception cref="OutOfMemoryException">The OS refused memory, or the size is impossible.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void* AllocZeroed(nuint byteCount) =>
        AllocatorOptions.Checked ? CheckedHeap.Alloc(byteCount, 0, true)
        : byteCount <= SizeClasses.LookupMax ? Arena.AllocSmallZeroed(byteCount) : AllocLarger(byteCount, true);

    /// <summary>Allocates a zeroed block for <paramref name="elementCount"/> elements of <paramref name="elementSize"/> bytes.</summary>
    /// <param name="elementCount">The number of elements.</param>
    /// <param name="elementSize">The size of each element, in bytes.</param>
    /// <returns>A pointer to the block, never null.</returns>
    /// <exception cref="OutOfMemoryException">The product overflows, or the OS refused memory.</exception>
    public static void* AllocZeroed(nuint elementCount, nuint elementSize) => AllocZeroed(Multiply(elementCount, elementSize));

    /// <summary>
    /// Resizes a block, keeping its contents up to the smaller of the two sizes. Grows and shrinks in place
    /// whenever the block's usable size allows; large blocks are resized with mremap.
    /// </summary>
    /// <param name="ptr">A block from this allocator, or null (then this is <see cref="Alloc(nuint)"/>).</param>
    /// <param name="byteCount">The new size, in bytes.</param>
    /// <returns>The block, moved or not. On failure the old block is untouched and still owned by the caller.</returns>
    /// <exception cref="OutOfMemoryException">The OS refused memory.</exception>
    /// <exception cref="ArgumentException"><paramref name="ptr"/> is not a block from this allocator.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="ptr"/> was already freed.</exception>
    public static void* Realloc(void* ptr, nuint byteCount)
    {
        if (AllocatorOptions.Checked)
        {
            return CheckedHeap.Realloc(ptr, byteCount, 0);
        }

        if (ptr == null)
        {
            return Alloc(byteCount);
        }

        if (!SegmentMap.Contains((nuint)ptr))
        {
            return LargeBlocks.Realloc(ptr, byteCount);
        }

        nuint usable = Arena.Locate(ptr, nameof(Realloc))->BlockSize;
        if (byteCount <= usable)
        {
            return ptr;
        }

        // A block that Realloc grows to 8 KiB or more is probably a growing buffer: it moves to the large path, where
        // its next growths take the free range after it in place instead of moving and copying again.
        void* moved = byteCount >= ReallocToLargeThreshold ? LargeBlocks.Alloc(byteCount, OsMemory.PageSize, false) : Alloc(byteCount);
        Buffer.MemoryCopy(ptr, moved, usable, usable);
        Arena.Free(ptr);
        return moved;
    }

    /// <summary>Frees a block from this allocator (from any Alloc, AllocZeroed, Realloc, AlignedAlloc or AlignedRealloc).</summary>
    /// <param name="ptr">The block, or null (nothing happens).</param>
    /// <exception cref="ArgumentException"><paramref name="ptr"/> is not a block from this allocator.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="ptr"/> was already freed ("double free").</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Free(void* ptr)
    {
        if (AllocatorOptions.Checked)
        {
            CheckedHeap.Free(ptr);
        }
        else
        {
            Arena.Free(ptr);
        }
    }

    /// <summary>Free without checked mode.</summary>
    internal static void FreeUnchecked(void* ptr) => Arena.Free(ptr);

    /// <summary>Allocates a block of at least <paramref name="byteCount"/> bytes aligned to <paramref name="alignment"/>.</summary>
    /// <param name="byteCount">The size of the block, in bytes.</param>
    /// <param name="alignment">A power of two: the block's address is a multiple of it.</param>
    /// <returns>A pointer to the block, never null.</returns>
    /// <exception cref="ArgumentException"><paramref name="alignment"/> is 0 or not a power of two.</exception>
    /// <exception cref="OutOfMemoryException">The OS refused memory, or the size is impossible.</exception>
    public static void* AlignedAlloc(nuint byteCount, nuint alignment)
    {
        if (!BitOperations.IsPow2(alignment))
        {
            ThrowHelper.ThrowBadAlignment(alignment);
        }

        return AllocatorOptions.Checked ? CheckedHeap.Alloc(byteCount, alignment, false) : AlignedAllocUnchecked(byteCount, alignment);
    }

    /// <summary>AlignedAlloc without checked mode, for a valid alignment.</summary>
    internal static void* AlignedAllocUnchecked(nuint byteCount, nuint alignment) =>
        alignment <= 16 ? AllocUnchecked(byteCount) : AlignedAllocCore(byteCount, alignment);

    /// <summary>Resizes a block, keeping it aligned to <paramref name="alignment"/> and keeping its contents.</summary>
    /// <param name="ptr">A block from this allocator, or null (then this is <see cref="AlignedAlloc"/>).</param>
    /// <param name="byteCount">The new size, in bytes.</param>
    /// <param name="alignment">A power of two.</param>
    /// <returns>The block, moved or not.</returns>
    /// <exception cref="ArgumentException"><paramref name="alignment"/> is 0 or not a power of two, or <paramref name="ptr"/> is not a block from this allocator.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="ptr"/> was already freed.</exception>
    /// <exception cref="OutOfMemoryException">The OS refused memory.</exception>
    public static void* AlignedRealloc(void* ptr, nuint byteCount, nuint alignment)
    {
        if (!BitOperations.IsPow2(alignment))
        {
            ThrowHelper.ThrowBadAlignment(alignment);
        }

        if (AllocatorOptions.Checked)
        {
            return CheckedHeap.Realloc(ptr, byteCount, alignment);
        }

        if (ptr == null)
        {
            return AlignedAlloc(byteCount, alignment);
        }

        bool aligned = ((nuint)ptr & (alignment - 1)) == 0;
        if (!SegmentMap.Contains((nuint)ptr) && aligned && alignment <= OsMemory.PageSize)
        {
            return LargeBlocks.Realloc(ptr, byteCount);
        }

        nuint usable = UsableSizeUnchecked(ptr, nameof(AlignedRealloc));
        if (aligned && byteCount <= usable)
        {
            return ptr;
        }

        void* moved = AlignedAlloc(byteCount, alignment);
        nuint keep = Math.Min(usable, byteCount);
        Buffer.MemoryCopy(ptr, moved, keep, keep);
        Free(ptr);
        return moved;
    }

    /// <summary>Frees a block from this allocator; the same as <see cref="Free"/>.</summary>
    /// <param name="ptr">The block, or null (nothing happens).</param>
    /// <exception cref="ArgumentException"><paramref name="ptr"/> is not a block from this allocator.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="ptr"/> was already freed ("double free").</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AlignedFree(void* ptr) => Free(ptr);

    /// <summary>The number of bytes really available in a block: at least the size asked for.</summary>
    /// <param name="ptr">A live block from this allocator, or null (gives 0).</param>
    /// <returns>The usable size in bytes.</returns>
    /// <exception cref="ArgumentException"><paramref name="ptr"/> is not a block from this allocator.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="ptr"/> was already freed.</exception>
    public static nuint UsableSize(void* ptr) =>
        AllocatorOptions.Checked ? CheckedHeap.UsableSize(ptr) : ptr == null ? 0 : UsableSizeUnchecked(ptr, nameof(UsableSize));

    /// <summary>
    /// Gives free memory back to the OS now. Releases the calling thread's cached empty pages and the heaps of
    /// threads that have exited; other live threads release theirs at their next allocation slow path.
    /// </summary>
    /// <param name="force">True to purge everything free at once; false to purge only what has waited the purge delay.</param>
    public static void Collect(bool force) => Arena.Collect(force);

    /// <summary>A snapshot of the allocator's counters and per-size-class state.</summary>
    /// <returns>The statistics.</returns>
    public static AllocatorStatistics GetStatistics() => Arena.Snapshot();

    /// <summary>Clears <paramref name="byteCount"/> bytes at <paramref name="ptr"/> (as <see cref="NativeMemory.Clear"/>).</summary>
    /// <param name="ptr">The memory to clear.</param>
    /// <param name="byteCount">The number of bytes.</param>
    public static void Clear(void* ptr, nuint byteCount) => ZeroMemory.Clear(ptr, byteCount);

    /// <summary>Copies <paramref name="byteCount"/> bytes; the ranges may overlap (as <see cref="NativeMemory.Copy"/>).</summary>
    /// <param name="source">Where to copy from.</param>
    /// <param name="destination">Where to copy to.</param>
    /// <param name="byteCount">The number of bytes.</param>
    public static void Copy(void* source, void* destination, nuint byteCount) => NativeMemory.Copy(source, destination, byteCount);

    /// <summary>Sets <paramref name="byteCount"/> bytes at <paramref name="ptr"/> to <paramref name="value"/> (as <see cref="NativeMemory.Fill"/>).</summary>
    /// <param name="ptr">The memory to fill.</param>
    /// <param name="byteCount">The number of bytes.</param>
    /// <param name="value">The byte value.</param>
    public static void Fill(void* ptr, nuint byteCount, byte value) => NativeMemory.Fill(ptr, byteCount, value);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void* AllocLarger(nuint byteCount, bool zero) =>
        byteCount <= SizeClasses.MaxSize ? Arena.AllocMedium(byteCount, zero) : LargeBlocks.Alloc(byteCount, OsMemory.PageSize, zero);

    private static void* AlignedAllocCore(nuint byteCount, nuint alignment)
    {
        nuint wanted = Math.Max(byteCount, alignment);
        if (wanted <= SizeClasses.MaxSize && alignment <= Segment.HeaderSize)
        {
            // Page areas start 64 KiB-aligned, so a class whose size is a multiple of the alignment gives aligned
            // blocks, unless page colouring moves its pages' first blocks by less than the alignment.
            for (int c = SizeClasses.Index(wanted); c < SizeClasses.Count; c++)
            {
                if (PageColour.Alignment(SizeClasses.Sizes[c], (uint)Segment.HeaderSize) >= alignment)
                {
                    return Arena.AllocClass(c, false);
                }
            }
        }

        return LargeBlocks.Alloc(byteCount, Math.Max(alignment, OsMemory.PageSize), false);
    }

    /// <summary>The real usable size of a live block, validated; <paramref name="operation"/> names the caller in error messages.</summary>
    internal static nuint UsableSizeUnchecked(void* ptr, string operation) =>
        SegmentMap.Contains((nuint)ptr) ? Arena.Locate(ptr, operation)->BlockSize : LargeBlocks.SizeOf(ptr, operation);

    private static nuint Multiply(nuint count, nuint size)
    {
        if (size != 0 && count > nuint.MaxValue / size)
        {
            ThrowHelper.ThrowSizeOverflow(count, size);
        }

        return count * size;
    }
}
