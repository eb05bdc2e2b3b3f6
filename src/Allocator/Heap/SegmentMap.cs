using System.Runtime.CompilerServices;
using Allocator.Platform;

namespace Allocator.Heap;

/// <summary>
/// One byte per 4 MiB of the 47-bit user address space (2^25 bytes, a 32 MiB mapping of which only the pages that
/// cover our segments are ever written): the page shift of the segment of ours that lives there, or 0. Deciding
/// whether a pointer belongs to the arena path, and finding its page, is a shift, a byte load and a test: the
/// free path never reads the segment header, and never touches memory at a pointer that is not ours.
/// </summary>
/// <remarks>Entries change only under <see cref="Arena"/>'s lock; readers read without it.</remarks>
internal static unsafe class SegmentMap
{
    private const int AddressBits = 47;

    /// <summary>Entries in the map, one per 4 MiB chunk; also its size in bytes.</summary>
    internal const nuint Chunks = (nuint)1 << (AddressBits - Segment.Shift);

    private static readonly byte* s_shifts = CreateMap();

    /// <summary>
    /// The page shift of the segment of ours that holds <paramref name="p"/> (<see cref="Segment.SmallPageShift"/>
    /// and up), or 0 when <paramref name="p"/> lies in none.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PageShiftOf(nuint p)
    {
        nuint chunk = p >> Segment.Shift;
        return chunk < Chunks ? ShiftAt(chunk) : 0;
    }

    /// <summary>
    /// The entry of chunk <paramref name="chunk"/> (a pointer shifted right by <see cref="Segment.Shift"/>), which
    /// must be below <see cref="Chunks"/>: the segment's page shift, or 0. The free fast path's form of
    /// <see cref="PageShiftOf"/>, with the range test left to the caller so that both tests branch to one slow path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ShiftAt(nuint chunk) => s_shifts[chunk];

    /// <summary>True when <paramref name="p"/> lies in one of our segments.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Contains(nuint p) => PageShiftOf(p) != 0;

    /// <summary>Marks the segment at <paramref name="segment"/>, whose pages are 2^<paramref name="pageShift"/> bytes, as ours.</summary>
    public static void Add(void* segment, int pageShift) =>
        Volatile.Write(ref s_shifts[(nuint)segment >> Segment.Shift], (byte)pageShift);

    /// <summary>Forgets the segment at <paramref name="segment"/>.</summary>
    public static void Remove(void* segment) => Volatile.Write(ref s_shifts[(nuint)segment >> Segment.Shift], (byte)0);

    private static byte* CreateMap()
    {
        void* p = OsMemory.MapUnchecked(Chunks);
        if (p == null)
        {
            throw new OutOfMemoryException(Libc.Describe("mmap", OsMemory.t_lastErrno) + " (allocator segment map)");
        }

        OsMemory.Name(p, Chunks, "allocator-map");
        return (byte*)p;
    }
}
