using System.Runtime.CompilerServices;
using Allocator.Platform;

namespace Allocator.Heap;

/// <summary>
/// One bit per 4 MiB of the 47-bit user address space (2^25 bits, a 4 MiB lazily-committed mapping): set while
/// a segment of ours lives there. Deciding whether a pointer belongs to the arena path is a shift, a load and a
/// test, and never touches memory at the pointer itself.
/// </summary>
/// <remarks>Bits change only under <see cref="Arena"/>'s lock; readers read without it.</remarks>
internal static unsafe class SegmentMap
{
    private const int AddressBits = 47;
    /// <summary>Bits in the map: one per 4 MiB chunk (the map is Chunks / 8 bytes).</summary>
    internal const nuint Chunks = (nuint)1 << (AddressBits - Segment.Shift);

    private static readonly ulong* s_bits = CreateBits();

    /// <summary>True when <paramref name="p"/> lies in one of our segments.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Contains(nuint p)
    {
        nuint chunk = p >> Segment.Shift;
        return chunk < Chunks && (s_bits[chunk >> 6] & (1UL << (int)(chunk & 63))) != 0;
    }

    /// <summary>Marks the segment at <paramref name="segment"/> as ours.</summary>
    public static void Add(void* segment)
    {
        nuint chunk = (nuint)segment >> Segment.Shift;
        Volatile.Write(ref s_bits[chunk >> 6], s_bits[chunk >> 6] | (1UL << (int)(chunk & 63)));
    }

    /// <summary>Forgets the segment at <paramref name="segment"/>.</summary>
    public static void Remove(void* segment)
    {
        nuint chunk = (nuint)segment >> Segment.Shift;
        Volatile.Write(ref s_bits[chunk >> 6], s_bits[chunk >> 6] & ~(1UL << (int)(chunk & 63)));
    }

    private static ulong* CreateBits()
    {
        nuint bytes = Chunks / 8;
        void* p = OsMemory.MapUnchecked(bytes);
        if (p == null)
        {
            throw new OutOfMemoryException(Libc.Describe("mmap", OsMemory.t_lastErrno) + " (allocator segment map)");
        }

        OsMemory.Name(p, bytes, "allocator-map");
        return (ulong*)p;
    }
}
