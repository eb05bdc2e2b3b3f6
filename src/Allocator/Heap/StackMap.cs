using System.Runtime.CompilerServices;
using Allocator.Platform;

namespace Allocator.Heap;

/// <summary>
/// Finds the calling thread's heap from the address of a local variable, so that the inlined allocation and free
/// paths need no thread-static access (on Linux, a call to <c>__tls_get_addr</c> that cost about a quarter of an
/// alloc+free pair). A miss costs nothing but the usual slow path, which learns the answer for next time.
/// </summary>
/// <remarks>
/// <para>How it works. A table of <see cref="Slots"/> heap pointers is indexed by a hash of the 64 KiB stack
/// granule the caller runs on. A slot is only a guess: the lookup accepts the heap it names only when the caller's stack
/// page lies inside that heap's <see cref="ThreadHeap.StackWord"/>, the stack range of the thread that owns the
/// heap. Live threads' stacks never overlap, so a page inside the owner's range means the caller is the owner.</para>
/// <para>Invariants that make that true:</para>
/// <list type="bullet">
/// <item>A slot always holds a pointer to a heap (or to <see cref="Arena.FreePageHeap"/>, whose stack word is 0),
/// and heap memory is never unmapped, so reading through a stale slot is safe.</item>
/// <item>A heap's stack word describes its current owner's stack, or has size 0. It is written by the owner
/// (<see cref="Adopt"/>, <see cref="Learn"/>), cleared when the reaper abandons the heap, and zeroed in size by
/// the owner's exit hook (<see cref="OsThread.ArmExitHook"/>), which runs before the owner's stack can be reused by
/// a new thread. So a thread that starts on a dead thread's stack never matches the dead thread's heap.</item>
/// <item>The word is one 64-bit value, written and read whole: bits 0-35 hold the stack's low address in 4 KiB
/// units, bits 36-63 its size in 4 KiB units. The exit hook stores a constant below 16 into the upper 32 bits,
/// which makes the size 0 (bits 36-63 are bits 4-31 of that half).</item>
/// <item>A previous owner's late exit hook may zero a reused heap's size while its new owner runs; the new owner's
/// next slow path restores the word from <see cref="ThreadHeap.StackHome"/>, which only the owner writes.</item>
/// </list>
/// <para>When the exit hook is unavailable, the C library cannot report a stack range, or the
/// <see cref="AllocatorOptions.StackMap"/> option is off, every heap's word stays
/// 0 and every lookup misses: the allocator falls back to the thread-static path, correct and slower.</para>
/// </remarks>
internal static unsafe class StackMap
{
    /// <summary>
    /// Number of slots (a power of two). A thread uses a slot per 64 KiB of stack it allocates from, usually one:
    /// the frames that call an allocator sit within a few KiB of each other.
    /// </summary>
    public const int Slots = 4096;

    /// <summary>Slow paths a thread spends blocked from a slot held by another live thread's heap before it takes the slot.</summary>
    public const int ConflictsBeforeSteal = 64;

    private const int SlotBits = 12;
    private const int PageShift = 12;
    private const int GranuleShift = 16;
    private const ulong LowMask = (1UL << 36) - 1;

    private static readonly ThreadHeap** s_slots = CreateSlots();

    /// <summary>The calling thread's heap, or null when the map does not know it (then use the slow path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ThreadHeap* Current()
    {
        ThreadHeap* h = Guess();
        return CallerOwns(h) ? h : null;
    }

    /// <summary>
    /// The heap in the slot of the caller's stack page: never null, and the caller's own heap only when
    /// <see cref="CallerOwns"/> says so. The allocation fast path tests the two in one branch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ThreadHeap* Guess()
    {
        byte marker;
        return s_slots[SlotOf((ulong)(&marker))];
    }

    /// <summary>
    /// A miss of the allocation fast path: the calling thread's heap from its thread-static (null before its first
    /// allocation), after <see cref="Learn"/> has tried to point the slot at it. Out of line, so the hit path stays
    /// small; with the map off (or unavailable) every allocation passes here, one call and one thread-static read.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ThreadHeap* Miss()
    {
        ThreadHeap* h = Arena.t_heap;
        if (h != null)
        {
            Learn(h);
        }

        return h;
    }

    /// <summary>
    /// True when the calling thread owns <paramref name="h"/> (any heap or sentinel heap; sentinels never match):
    /// the caller's stack page lies in the range recorded in <paramref name="h"/>. The free path's ownership check,
    /// which needs no slot: the page it frees into names the heap to test.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool CallerOwns(ThreadHeap* h)
    {
        byte marker;
        return InRange(h->StackWord, (ulong)(&marker) >> PageShift);
    }

    /// <summary>True when stack page <paramref name="page"/> lies in the range a stack word encodes (never for size 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool InRange(ulong word, ulong page) => page - (word & LowMask) < (word >> 36);

    /// <summary>
    /// Called once by a thread that has just taken heap <paramref name="h"/>: records the thread's stack range in
    /// it and arms the exit hook on it. Leaves the word 0 when either is unavailable.
    /// </summary>
    public static void Adopt(ThreadHeap* h)
    {
        h->StackWord = 0;
        h->StackHome = 0;
        if (!AllocatorOptions.StackMap || !OsThread.ExitHookAvailable || !OsThread.TryGetCurrentStack(out nuint low, out nuint size))
        {
            return;
        }

        ulong lowPage = (ulong)low >> PageShift;
        ulong pages = Math.Min((ulong)size >> PageShift, (1UL << 28) - 1);
        if (lowPage > LowMask || !OsThread.ArmExitHook((uint*)&h->StackWord + 1))
        {
            return;
        }

        h->StackHome = lowPage | (pages << 36);
        h->StackWord = h->StackHome;
        Learn(h);
    }

    /// <summary>
    /// Slow-path upkeep for the calling thread, which owns <paramref name="h"/>: restores a stack word that a
    /// previous owner's exit hook zeroed, and points the slot of the caller's stack at <paramref name="h"/>. A slot
    /// held by another live thread's heap is taken only after <see cref="ConflictsBeforeSteal"/> slow paths blocked
    /// by it, so two busy threads whose stacks share a slot trade it rarely instead of on every call, and a slot
    /// held by a thread that has moved on (or by a reused heap) is not lost for good.
    /// </summary>
    public static void Learn(ThreadHeap* h)
    {
        if (h->StackHome == 0)
        {
            return;
        }

        if (h->StackWord != h->StackHome)
        {
            h->StackWord = h->StackHome;
        }

        byte marker;
        if (!InRange(h->StackHome, (ulong)(&marker) >> PageShift))
        {
            return; // running outside the recorded stack (an alternate signal stack, or deep in the main thread)
        }

        ThreadHeap** slot = s_slots + SlotOf((ulong)(&marker));
        ThreadHeap* held = *slot;
        if (held == h)
        {
            return;
        }

        if ((held->StackWord >> 36) != 0 && ++h->SlotConflicts < ConflictsBeforeSteal)
        {
            return;
        }

        h->SlotConflicts = 0;
        *slot = h;
    }

    /// <summary>The slot of stack address <paramref name="address"/>: a multiplicative hash of its 64 KiB granule.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nuint SlotOf(ulong address) => (nuint)(((address >> GranuleShift) * 0x9E3779B97F4A7C15UL) >> (64 - SlotBits));

    private static ThreadHeap** CreateSlots()
    {
        var slots = (ThreadHeap**)OsMemory.MapUnchecked((nuint)(Slots * sizeof(nint)));
        if (slots == null)
        {
            throw new OutOfMemoryException(Libc.Describe("mmap", OsMemory.t_lastErrno) + " (allocator start-up: the stack map)");
        }

        for (int i = 0; i < Slots; i++)
        {
            slots[i] = Arena.FreePageHeap; // its stack word is 0: every lookup through it misses
        }

        return slots;
    }
}
