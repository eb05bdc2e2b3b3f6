using System.Globalization;
using Allocator.Heap;

namespace Allocator.Diagnostics;

/// <summary>
/// Checked mode (<see cref="AllocatorOptions.Checked"/>): every block carries a guard after the bytes asked for, and
/// freed blocks are filled with a pattern, so that writes past the end are caught at <c>Free</c> and writes to freed
/// memory are caught when the block is next handed out.
/// </summary>
/// <remarks>
/// <para>Layout of a checked block of usable size B holding n requested bytes (the allocator is asked for n + 16):</para>
/// <code>
/// [0, n)        the caller's bytes
/// [n, B - 8)    guard bytes, 0xCA (at least 8)
/// [B - 8, B)    n XOR a per-process secret: the requested size, protected
/// </code>
/// <para>A freed block is filled with 0xDF (but for the allocator's two link words at its start), and so is every
/// block carved from a page. A block handed out must read as all 0xDF or all zero (fresh or purged memory) past its
/// link words; anything else is a write after free.</para>
/// <para>In checked mode <c>UsableSize</c> is the size asked for, and <c>Realloc</c> always moves the block, so
/// stale pointers to the old block are caught too.</para>
/// </remarks>
internal static unsafe class CheckedHeap
{
    /// <summary>Guard byte written after the requested bytes.</summary>
    public const byte Guard = 0xCA;

    /// <summary>Pattern that fills freed blocks.</summary>
    public const byte FreedPattern = 0xDF;

    private const int Overhead = 16;
    private static readonly nuint s_sizeKey = (nuint)((ulong)Arena.TagKey * 0x9E3779B97F4A7C15);

    /// <summary>Allocates a checked block of <paramref name="size"/> bytes.</summary>
    public static void* Alloc(nuint size, nuint alignment, bool zero)
    {
        if (size > LargeBlocks.MaxRequest)
        {
            throw ThrowHelper.TooLarge(size);
        }

        void* p = alignment > 16 ? NativeAllocator.AlignedAllocUnchecked(size + Overhead, alignment) : NativeAllocator.AllocUnchecked(size + Overhead);
        nuint usable = NativeAllocator.UsableSizeUnchecked(p, "Alloc");
        long corrupt = FirstWriteAfterFree((byte*)p, usable);
        if (corrupt >= 0)
        {
            byte found = ((byte*)p)[corrupt];
            Release(p, usable);
            throw new InvalidOperationException(string.Format(
                CultureInfo.InvariantCulture,
                "NativeAllocator (checked mode): the block at 0x{0:x} ({1} bytes) was written after it was freed: byte {2} is 0x{3:x2}, expected 0x{4:x2}.",
                (nuint)p, usable, corrupt, found, FreedPattern));
        }

        new Span<byte>((byte*)p + size, (int)(usable - size - 8)).Fill(Guard);
        *(nuint*)((byte*)p + usable - 8) = size ^ s_sizeKey;
        if (zero)
        {
            NativeAllocator.Clear(p, size);
        }

        return p;
    }

    /// <summary>Checks the guard, fills the block with the freed pattern and frees it; throws after freeing when the guard was overwritten.</summary>
    public static void Free(void* ptr)
    {
        if (ptr == null)
        {
            return;
        }

        nuint usable = NativeAllocator.UsableSizeUnchecked(ptr, "Free");
        string? overflow = CheckGuard(ptr, usable, out _);
        Release(ptr, usable);
        if (overflow is not null)
        {
            throw new InvalidOperationException(overflow);
        }
    }

    /// <summary>Moves the block to a new checked block of <paramref name="size"/> bytes (always a move in checked mode).</summary>
    public static void* Realloc(void* ptr, nuint size, nuint alignment)
    {
        if (ptr == null)
        {
            return Alloc(size, alignment, false);
        }

        nuint usable = NativeAllocator.UsableSizeUnchecked(ptr, "Realloc");
        string? overflow = CheckGuard(ptr, usable, out nuint oldSize);
        if (overflow is not null)
        {
            Release(ptr, usable);
            throw new InvalidOperationException(overflow);
        }

        void* moved = Alloc(size, alignment, false);
        nuint keep = Math.Min(oldSize, size);
        Buffer.MemoryCopy(ptr, moved, keep, keep);
        Release(ptr, usable);
        return moved;
    }

    /// <summary>The size the caller asked for, after checking the guard.</summary>
    public static nuint UsableSize(void* ptr)
    {
        if (ptr == null)
        {
            return 0;
        }

        nuint usable = NativeAllocator.UsableSizeUnchecked(ptr, "UsableSize");
        string? overflow = CheckGuard(ptr, usable, out nuint size);
        return overflow is null ? size : throw new InvalidOperationException(overflow);
    }

    /// <summary>Fills freshly carved blocks with the freed pattern (past each block's link words).</summary>
    public static void FillCarved(byte* first, nuint count, uint blockSize)
    {
        if (blockSize <= Overhead)
        {
            return;
        }

        for (nuint i = 0; i < count; i++)
        {
            new Span<byte>(first + (i * blockSize) + Overhead, (int)(blockSize - Overhead)).Fill(FreedPattern);
        }
    }

    private static void Release(void* ptr, nuint usable)
    {
        new Span<byte>((byte*)ptr, (int)Math.Min(usable, int.MaxValue)).Fill(FreedPattern);
        NativeAllocator.FreeUnchecked(ptr);
    }

    /// <summary>Null when the guard and the stored size are intact, else a message that says where the overflow is.</summary>
    private static string? CheckGuard(void* ptr, nuint usable, out nuint size)
    {
        size = *(nuint*)((byte*)ptr + usable - 8) ^ s_sizeKey;
        if (usable < Overhead || size > usable - Overhead)
        {
            return string.Format(
                CultureInfo.InvariantCulture,
                "NativeAllocator (checked mode): heap overflow: the end of the block at 0x{0:x} ({1} usable bytes) was overwritten, including the size record in its last 8 bytes.",
                (nuint)ptr, usable);
        }

        var guard = new ReadOnlySpan<byte>((byte*)ptr + size, (int)(usable - size - 8));
        int bad = guard.IndexOfAnyExcept(Guard);
        return bad < 0 ? null : string.Format(
            CultureInfo.InvariantCulture,
            "NativeAllocator (checked mode): heap overflow: the block at 0x{0:x} of {1} bytes was written past its end, at byte {2} (0x{3:x2}).",
            (nuint)ptr, size, size + (nuint)bad, guard[bad]);
    }

    /// <summary>The offset of the first byte past the link words that is neither all-freed-pattern nor all-zero, or -1.</summary>
    private static long FirstWriteAfterFree(byte* p, nuint usable)
    {
        if (usable <= Overhead)
        {
            return -1;
        }

        var body = new ReadOnlySpan<byte>(p + Overhead, (int)Math.Min(usable - Overhead, int.MaxValue));
        byte expected = body[0] == 0 ? (byte)0 : FreedPattern;
        int bad = body.IndexOfAnyExcept(expected);
        return bad < 0 ? -1 : Overhead + bad;
    }
}
