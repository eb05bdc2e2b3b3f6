using System.Runtime.CompilerServices;
using Allocator.Platform;

namespace Allocator.Heap;

/// <summary>
/// Finds the calling thread's heap from the address of a local variable, so that the inlined allocation and free
/// paths need no thread-static access (on Linux, a call to <c>__tls_get_addr</c> that cost about a quarter of an
/// alloc+free pair). A miss costs nothing but the usual slow path, which learns the answer for next time.
/// </summary>
/// <remarks>
/// <para>How it works. A table of <see cref="Slots"/> heap pointers is indexed by the 64 KiB stack granule the
/// caller runs on (its low 12 bits: thread stacks lie next to each other, so threads whose stacks are within
/// 256 MiB of each other never share a slot). A slot is only a guess: the lookup accepts the heap it names only
/// when the caller's stack address lies inside that heap's [<see cref="ThreadHeap.StackLow"/>,
/// + <see cref="ThreadHeap.StackBytes"/>), the stack of the thread that owns the heap. Live threads' stacks never
/// overlap, so an address inside the owner's range means the caller is the owner. The check is one subtraction and
/// one unsigned compare.</para>
/// <para>Invariants that make that true:</para>
/// <list type="bullet">
/// <item>A slot always holds a pointer to a heap (or to <see cref="Arena.FreePageHeap"/>, whose size is 0),
/// and heap memory is never unmapped, so reading through a stale slot is safe.</item>
/// <item>A heap's range describes its current owner's stack, or matches nothing. The owner writes it
/// (<see cref="Adopt"/>, <see cref="Learn"/>); the reaper clears it when it abandons the heap; the owner's exit hook
/// (<see cref="OsThread.ArmExitHook"/>) overwrites the upper half of the low address with a small constant, before
/// the owner's stack can be reused by a new thread. That makes the low address less than 2^36 + 2^32, and only
/// stacks at 2^37 or above are recorded (all of them, with Linux's address-space layout), so the range, at most 4 GiB
/// long, matches no stack any more. A thread that starts on a dead thread's stack never matches the dead thread's heap.</item>
/// <item>The range is two words, and no reader can pair one owner's low address with another's size: the reaper
/// clears both (a low address of 0 matches no stack) before a heap gets a new owner, and <see cref="Adopt"/> zeroes
/// the size, then writes the low address, then the size (volatile writes, so in that order). Within one owner's
/// time the words only take the values 0 or the owner's size, and 0, the owner's low address or a spoiled one, and
/// only the owner's two together match. So the ownership check reads the two with plain loads, in whatever order
/// the JIT picks (the compare then reads the size straight from memory).</item>
/// <item>A previous owner's late exit hook may spoil a reused heap's low address while its new owner runs; the new
/// owner's next slow path restores it from <see cref="ThreadHeap.StackHome"/>, which only the owner writes.</item>
/// </list>
/// <para>When the exit hook is unavailable, the C library cannot report a stack range, the stack lies below 2^37,
/// or the <see cref="AllocatorOptions.StackMap"/> option is off, every heap's size stays
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

    private const int GranuleShift = 16;

    /// <summary>
    /// The largest stack size recorded, in bytes; larger stacks are cut to it. Under 4 GiB, so that a range whose low
    /// address the exit hook has spoiled (below 2^36 + 2^32) reaches no recorded stack (see the remarks).
    /// </summary>
    private const nuint MaxStackBytes = uint.MaxValue & ~4095u;

    /// <summary>Stacks below this address are not recorded (see the remarks: the exit hook's spoiled address is below 2^36 + 2^32).</summary>
    private const ulong LowestStack = 1UL << 37;

    private static readonly ThreadHeap** s_slots = CreateSlots();

    /// <summary>
    /// An address in the caller's stack frame (of a local). Computed once per fast path and passed to
    /// <see cref="Guess"/> and <see cref="CallerOwns"/>; it is only compared, never dereferenced. The local is never
    /// initialised (<see cref="SkipLocalsInitAttribute"/>): zeroing it put a store into every inlined fast path (the
    /// JIT zeroes an inlined method's address-taken locals at the call site, inside the caller's loop).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [SkipLocalsInit]
    public static nuint Here()
    {
        byte marker;
        return (nuint)(&marker);
    }

    /// <summary>
    /// The calling thread's heap, or null when the map does not know it (then use the slow path); always null with
    /// the map turned off, which then knows nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ThreadHeap* Current()
    {
        if (!AllocatorOptions.StackMap)
        {
            return null;
        }

        nuint sp = Here();
        ThreadHeap* h = Guess(sp);
        return CallerOwns(h, sp) ? h : null;
    }

    /// <summary>
    /// The heap in the slot of stack address <paramref name="sp"/> (from <see cref="Here"/>): with the map on never
    /// null, and the caller's own heap only when <see cref="CallerOwns"/> says so. The allocation fast path tests the two in one branch.
    /// </summary>
    /// <remarks>
    /// With the map turned off by its option (<see cref="AllocatorOptions.StackMap"/>), the thread-static heap (null
    /// before the thread's first allocation). The option is a constant to the optimising JIT, so each fast path
    /// compiles one of the two forms, here and in <see cref="CallerOwns"/>.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ThreadHeap* Guess(nuint sp) =>
        AllocatorOptions.StackMap ? s_slots[(sp >> GranuleShift) & (Slots - 1)] : Arena.t_heap;

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
    /// True when the calling thread, whose stack holds <paramref name="sp"/> (from <see cref="Here"/>), owns
    /// <paramref name="h"/> (any heap or sentinel heap; sentinels never match). The free path's ownership check,
    /// which needs no slot: the page it frees into names the heap to test.
    /// </summary>
    /// <remarks>With the map off, whether <paramref name="h"/> is the thread-static heap (never for null).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool CallerOwns(ThreadHeap* h, nuint sp)
    {
        if (!AllocatorOptions.StackMap)
        {
            return h != null && h == Arena.t_heap;
        }

        return InRange(sp, h->StackLow, h->StackBytes); // plain reads, in either order (see the remarks)
    }

    /// <summary>
    /// Called once by a thread that has just taken heap <paramref name="h"/>: records the thread's stack range in
    /// it and arms the exit hook on it. Leaves the size 0 when either is unavailable.
    /// </summary>
    public static void Adopt(ThreadHeap* h)
    {
        Volatile.Write(ref h->StackBytes, 0);
        h->StackHome = 0;
        if (!AllocatorOptions.StackMap || !OsThread.ExitHookAvailable || !OsThread.TryGetCurrentStack(out nuint low, out nuint size)
            || (ulong)low < LowestStack || !OsThread.ArmExitHook((uint*)&h->StackLow + 1))
        {
            return;
        }

        Volatile.Write(ref h->StackLow, low);
        Volatile.Write(ref h->StackBytes, Math.Min(size, MaxStackBytes));
        h->StackHome = low;
        Learn(h);
    }

    /// <summary>
    /// Slow-path upkeep for the calling thread, which owns <paramref name="h"/>: restores a low address that a
    /// previous owner's exit hook spoiled, and points the slot of the caller's stack at <paramref name="h"/>. A slot
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

        if (h->StackLow != h->StackHome)
        {
            Volatile.Write(ref h->StackLow, h->StackHome); // the size is still the owner's own
        }

        nuint sp = Here();
        if (!InRange(sp, h->StackHome, h->StackBytes))
        {
            return; // running outside the recorded stack (an alternate signal stack, or deep in the main thread)
        }

        ThreadHeap** slot = s_slots + ((sp >> GranuleShift) & (Slots - 1));
        ThreadHeap* held = *slot;
        if (held == h)
        {
            return;
        }

        if (IsLive(held) && ++h->SlotConflicts < ConflictsBeforeSteal)
        {
            return;
        }

        h->SlotConflicts = 0;
        *slot = h;
    }

    /// <summary>True when stack address <paramref name="sp"/> lies in [<paramref name="low"/>, + <paramref name="size"/>) (never for size 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool InRange(nuint sp, nuint low, nuint size) => sp - low < size;

    /// <summary>True when <paramref name="h"/> records a stack whose thread has not exited (as far as its hook says).</summary>
    private static bool IsLive(ThreadHeap* h) => h->StackBytes != 0 && (ulong)h->StackLow >= LowestStack;

    private static ThreadHeap** CreateSlots()
    {
        var slots = (ThreadHeap**)OsMemory.MapUnchecked((nuint)(Slots * sizeof(nint)));
        if (slots == null)
        {
            throw new OutOfMemoryException(Libc.Describe("mmap", OsMemory.t_lastErrno) + " (allocator start-up: the stack map)");
        }

        for (int i = 0; i < Slots; i++)
        {
            slots[i] = Arena.FreePageHeap; // its stack size is 0: every lookup through it misses
        }

        return slots;
    }
}
