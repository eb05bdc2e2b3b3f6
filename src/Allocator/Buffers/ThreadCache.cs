using System.Runtime.CompilerServices;

namespace Allocator.Buffers;

/// <summary>
/// Everything one thread keeps for the pools, behind one thread-static read per rent and per return (each such read
/// is a call to <c>__tls_get_addr</c> on Linux, about 1.5 ns): its cache slot per bucket (<see cref="BlockCache"/>)
/// and its counters for the pool it used last (<see cref="PoolCounters"/>).
/// </summary>
/// <remarks>
/// <para><b>Slots without interlocked instructions.</b> Only this thread fills and empties <see cref="Slots"/>, with
/// plain loads and stores; the trimmer, on another thread, may empty them only while it holds <see cref="Locked"/>.
/// Filling an empty slot needs no protection (the trimmer never fills one, so an empty slot stays empty until this
/// thread fills it); emptying one happens between <see cref="TryEnter"/> and <see cref="Exit"/>. The two sides form an asymmetric Dekker handshake:
/// this thread stores <see cref="Busy"/> = 1, then loads <see cref="Locked"/>; the trimmer stores
/// <see cref="Locked"/> = 1, runs <see cref="Interlocked.MemoryBarrierProcessWide"/> (a <c>membarrier</c> that makes
/// every running thread execute a full fence), then loads <see cref="Busy"/> and waits for it to be 0. Either the
/// trimmer sees this thread busy and waits for it, or this thread sees the lock and leaves the slots alone. The
/// fast path pays two plain stores and a load; only trimming pays for the fence.</para>
/// </remarks>
internal sealed class ThreadCache
{
    [ThreadStatic]
    private static ThreadCache? t_current;

    /// <summary>One cached block per bucket, or null. Emptied only between <see cref="TryEnter"/> and <see cref="Exit"/>, or by the trimmer while it holds <see cref="Locked"/>.</summary>
    /// <remarks>Inline in this object, so a slot is one load from the cache, with no array to reach first.</remarks>
    public SlotArray Slots;

    /// <summary>The thread this cache belongs to.</summary>
    public readonly Thread Thread = Thread.CurrentThread;

    /// <summary>1 while this thread is between <see cref="TryEnter"/> and <see cref="Exit"/>.</summary>
    public int Busy;

    /// <summary>1 while the trimmer may be reading or writing <see cref="Slots"/>.</summary>
    public int Locked;

    /// <summary>This thread's counters for the pool it rented from last; see <see cref="PoolCounters"/>.</summary>
    public ThreadCounters? LastCounters;

    /// <summary>This thread's counters for the other pools it has used.</summary>
    public Dictionary<PoolCounters, ThreadCounters>? AllCounters;

    private ThreadCache()
    {
    }

    /// <summary>The calling thread's cache, made on its first use.</summary>
    public static ThreadCache Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_current ?? CreateCurrent();
    }

    /// <summary>Claims <see cref="Slots"/> for this thread; false while the trimmer holds them (then call <see cref="Exit"/> all the same).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnter()
    {
        Volatile.Write(ref Busy, 1);
        return Volatile.Read(ref Locked) == 0;
    }

    /// <summary>Ends what <see cref="TryEnter"/> began.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit() => Volatile.Write(ref Busy, 0);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ThreadCache CreateCurrent()
    {
        var cache = new ThreadCache();
        BlockCache.Register(cache);
        t_current = cache;
        return cache;
    }
}

/// <summary>One slot per <see cref="BlockCache"/> bucket, stored inline in its <see cref="ThreadCache"/>.</summary>
[InlineArray(BlockCache.BucketCount)]
internal struct SlotArray
{
    private NativeBlock? _slot;
}
