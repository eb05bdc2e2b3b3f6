using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Allocator.Buffers;

/// <summary>
/// One native block and its leak guard: the part of a rent that is recycled. An owner is new on every rent (so a
/// stale <see cref="Memory{T}"/> can never reach a block handed out again); the <see cref="NativeBlock"/> behind it
/// is reused through <see cref="BlockCache"/>, so the finalizer that guards against leaks is paid for once per
/// block, not once per rent.
/// </summary>
/// <remarks>
/// <para>While rented, the only reference to a block is its owner's; when the owner is dropped without
/// <c>Dispose</c>, both become unreachable and this finalizer returns the memory and reports the leak to the pool.
/// While cached, the block is reachable from a cache slot, so it is not finalized; a cache array of a thread that
/// has exited becomes unreachable, and its blocks' finalizers free them (no leak is counted: <see cref="InUse"/> is
/// false).</para>
/// <para>Fields other than <see cref="Pointer"/> are written only by the thread that holds the block (the renter,
/// the disposer, or the cache under its slot exchange), so they need no synchronization.</para>
/// </remarks>
internal sealed unsafe class NativeBlock
{
    /// <summary>The block's address; 0 once freed.</summary>
    public nint Pointer;

    /// <summary>Its usable size in bytes (the bucket's size when cached).</summary>
    public readonly nuint Size;

    /// <summary>Its <see cref="BlockCache"/> bucket, or -1 for blocks too large to cache.</summary>
    public readonly int Bucket;

    /// <summary>
    /// The rent's ticket: the number of this block's rents (31 bits, wrapping) shifted left by one, plus 1 while it
    /// is rented. A rent writes it (the renter holds the block alone); the owner keeps a copy, and the Dispose that
    /// changes it from that copy to the copy minus 1 with one compare-exchange is the one that returns the block.
    /// Racing Dispose calls of the same owner thus return it exactly once, and a stale one, arriving after the block
    /// was rented again, finds another rent's number and does nothing.
    /// </summary>
    public int Ticket;

    /// <summary>True between rent and return: a finalization now is a leak.</summary>
    public bool InUse => (Volatile.Read(ref Ticket) & 1) != 0;

    /// <summary>Starts a rent, by the thread that holds the block alone: returns the rent's new ticket, which its owner keeps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int BeginRent()
    {
        int ticket = ((Ticket + 2) & int.MaxValue) | 1;
        Ticket = ticket;
        return ticket;
    }

    /// <summary>Ends the rent of <paramref name="ticket"/>, on any thread: true for exactly one caller, and only while that rent is current.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEndRent(int ticket) => Interlocked.CompareExchange(ref Ticket, ticket - 1, ticket) == ticket;

    /// <summary>The trim epoch of its last return to the cache, so trimming frees only blocks left idle.</summary>
    public int Epoch;

    /// <summary>The renting thread's counters of the renting pool while rented; afterwards the last ones (kept, so that the next rent by the same thread and pool writes nothing).</summary>
    public ThreadCounters? Renter;

    /// <summary>The renting owner's length in bytes (its elements × their size), while rented.</summary>
    public long Bytes;

    /// <summary>Where it was rented, while rented by a pool in checked mode.</summary>
    public StackTrace? RentStack;

    public NativeBlock(void* pointer, nuint size, int bucket)
    {
        Pointer = (nint)pointer;
        Size = size;
        Bucket = bucket;
    }

    /// <summary>An unreachable block: a leaked rent (counted and reported by its pool) or a cached block of an exited thread.</summary>
    ~NativeBlock()
    {
        nint pointer = Pointer;
        if (pointer == 0)
        {
            return;
        }

        Pointer = 0;
        ThreadCounters? renter = Renter;
        if (InUse && renter is not null)
        {
            renter.State.ReturnLeaked(this, renter, (void*)pointer);
        }
        else
        {
            BlockCache.FreeQuietly((void*)pointer);
        }
    }
}
