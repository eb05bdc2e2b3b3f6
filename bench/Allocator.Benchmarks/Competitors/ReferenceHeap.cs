using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Allocator.Benchmarks.Competitors;

/// <summary>
/// A floor, not an allocator: the least work a thread-local size-class allocator can do for the scaling test's
/// workload, so that test can show what this machine's two cores give when the allocator costs almost nothing.
/// Each thread owns a region of address space cut into one 4 MiB area per 16-byte class (1..1024 B); a block's
/// class is its offset in the region divided by 4 MiB. Allocation pops the class's free list or bumps the area;
/// free pushes onto the list. No checks, no statistics, no cross-thread frees, nothing ever given back.
/// </summary>
/// <remarks>
/// Invariants: a block is freed by the thread that allocated it (the scaling test's workers only free their own
/// blocks), and a class never has more than 4 MiB of blocks alive at once (the test keeps 10,000 blocks of at most
/// 1 KiB per thread). Alloc throws when that is broken instead of handing out memory of the next class.
/// </remarks>
public unsafe struct ReferenceHeap : INativeHeap
{
    private const int ClassShift = 4;
    private const int Classes = (1024 >> ClassShift) + 1;
    private const int AreaShift = 22;

    // Per thread: the region's base, and per class the free list head and the bump pointer.
    [ThreadStatic] private static byte* t_base;
    [ThreadStatic] private static nint[]? t_free;
    [ThreadStatic] private static nint[]? t_bump;

    public static string Name => "reference";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void* Alloc(nuint size)
    {
        nint[]? free = t_free;
        int c = (int)((size + 15) >> ClassShift);
        if (free is not null && (uint)c < (uint)free.Length)
        {
            nint head = free[c];
            if (head != 0)
            {
                free[c] = *(nint*)head;
                return (void*)head;
            }
        }

        return Bump(c);
    }

    public static void* AllocZeroed(nuint size)
    {
        void* block = Alloc(size);
        NativeMemory.Clear(block, size);
        return block;
    }

    public static void* Realloc(void* block, nuint size) =>
        throw new NotSupportedException("The reference heap serves the scaling test only.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Free(void* block)
    {
        int c = (int)((nuint)((byte*)block - t_base) >> AreaShift);
        nint[] free = t_free!;
        *(nint*)block = free[c];
        free[c] = (nint)block;
    }

    public static bool Collect() => false;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void* Bump(int c)
    {
        if (c == 0)
        {
            c = 1;
        }

        if (c >= Classes)
        {
            throw new NotSupportedException("The reference heap serves blocks of at most 1024 bytes.");
        }

        if (t_free is null)
        {
            // Reserved by glibc's mmap and touched only as the areas fill, so untouched areas cost no memory.
            t_base = (byte*)NativeMemory.AlignedAlloc((nuint)Classes << AreaShift, 4096);
            t_free = new nint[Classes];
            t_bump = new nint[Classes];
        }

        nint[] bump = t_bump!;
        nint used = bump[c];
        nint blockSize = c << ClassShift;
        if (used + blockSize > (1 << AreaShift))
        {
            throw new InvalidOperationException($"The reference heap's {blockSize}-byte area is full.");
        }

        bump[c] = used + blockSize;
        return t_base + ((nint)c << AreaShift) + used;
    }
}
