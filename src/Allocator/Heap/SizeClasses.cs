using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Allocator.Heap;

/// <summary>
/// The size classes of the arena path: every small or medium request is rounded up to one of these.
/// </summary>
/// <remarks>
/// <para>The table (52 classes, all multiples of 16, so every block is 16-byte aligned):</para>
/// <list type="table">
/// <item><term>16 … 128</term><description>step 16 (8 classes): waste at most 15 bytes (at most 23% above 64 bytes)</description></item>
/// <item><term>128 … 256 KiB</term><description>four classes per doubling: 2^b + k·2^(b-2), k = 1..4, so a request just above a class
/// wastes less than a quarter of the class step: at most 24.2% (129 → 160)</description></item>
/// </list>
/// <para>Page kinds: classes up to 8 KiB live in 128 KiB pages, up to 64 KiB in 512 KiB pages, and the rest
/// (up to <see cref="MaxSize"/>, 256 KiB) in one page that fills a whole 4 MiB segment.</para>
/// <para>Requests above <see cref="MaxSize"/> take the large path: their own mapping.</para>
/// </remarks>
internal static class SizeClasses
{
    /// <summary>Number of size classes.</summary>
    public const int Count = 52;

    /// <summary>The largest size served from arenas: 256 KiB. Larger blocks get their own mapping.</summary>
    public const int MaxSize = 256 * 1024;

    /// <summary>Requests up to this size use the table lookup on the allocation fast path.</summary>
    public const int LookupMax = 1024;

    /// <summary>Largest class kept in 128 KiB (small) pages.</summary>
    public const int SmallPageMax = 8 * 1024;

    /// <summary>Largest class kept in 512 KiB (medium) pages.</summary>
    public const int MediumPageMax = 64 * 1024;

    /// <summary>Block size of each class, in bytes.</summary>
    public static readonly uint[] Sizes = BuildSizes();

    /// <summary>
    /// The class for each request of up to <see cref="LookupMax"/> bytes, indexed by (size + 15) &gt;&gt; 4: what
    /// <see cref="Index"/> gives for size = 16·i (a test checks every entry against it). Constant data in the
    /// assembly, so the optimising JIT reads it with one load from a constant address, and folds the read away
    /// when the size is a constant at the call site (an <c>Alloc(64)</c> or <c>Alloc((nuint)sizeof(T))</c>).
    /// </summary>
    private static ReadOnlySpan<byte> Lookup =>
    [
        0, 0, 1, 2, 3, 4, 5, 6, 7, // 0 and 16 … 128: step 16
        8, 8, 9, 9, 10, 10, 11, 11, // … 256: step 32
        12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15, // … 512: step 64
        16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17, // … 1024: step 128
        18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19, 19,
    ];

    /// <summary>
    /// The class for <paramref name="size"/> (at most <see cref="LookupMax"/>), by table; a native-sized index, so that
    /// the fast path indexes the heap's pages with the loaded byte as it is, without a sign extension.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint SmallIndex(nuint size) => Unsafe.Add(ref MemoryMarshal.GetReference(Lookup), (nint)((size + 15) >> 4));

    /// <summary>The class for any <paramref name="size"/> up to <see cref="MaxSize"/>, computed branch-light.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Index(nuint size)
    {
        if (size <= 128)
        {
            return size == 0 ? 0 : (int)((size + 15) >> 4) - 1;
        }

        // size in (2^b, 2^(b+1)]: classes 2^b + k·2^(b-2), k = ((size-1) >> (b-2)) - 3.
        int b = BitOperations.Log2((ulong)(size - 1));
        int k = (int)((size - 1) >> (b - 2)) - 3;
        return 8 + ((b - 7) * 4) + (k - 1);
    }

    /// <summary>The page shift of the kind that holds <paramref name="sizeClass"/>: 16, 19 or 22.</summary>
    public static int PageShift(int sizeClass)
    {
        uint size = Sizes[sizeClass];
        return size <= SmallPageMax ? Segment.SmallPageShift : size <= MediumPageMax ? Segment.MediumPageShift : Segment.LargePageShift;
    }

    private static uint[] BuildSizes()
    {
        var sizes = new uint[Count];
        int i = 0;
        for (uint s = 16; s <= 128; s += 16)
        {
            sizes[i++] = s;
        }

        for (int b = 7; i < Count; b++)
        {
            for (uint k = 1; k <= 4; k++)
            {
                sizes[i++] = (1u << b) + (k << (b - 2));
            }
        }

        if (sizes[Count - 1] != MaxSize)
        {
            throw new InvalidOperationException("size class table does not end at MaxSize");
        }

        return sizes;
    }
}
