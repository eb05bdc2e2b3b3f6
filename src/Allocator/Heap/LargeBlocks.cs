using Allocator.Platform;

namespace Allocator.Heap;

/// <summary>
/// Blocks above <see cref="SizeClasses.MaxSize"/> (256 KiB), or aligned beyond what pages give: each gets its own
/// private anonymous memory range. Freed ranges go into a bounded cache of address ranges (kept sorted,
/// adjacent ranges merged), purged after the delay and unmapped after eight delays or when the cache is full, so
/// that a program that frees and allocates large buffers in a loop reuses warm memory instead of faulting in fresh
/// pages every time.
/// </summary>
/// <remarks>
/// <para>How much the cache may hold follows the program (<see cref="CacheLimit"/>): at least 64 MiB, at most
/// <see cref="AllocatorOptions.LargeCacheBytes"/>, and in between twice the most bytes of large blocks the program
/// has had live since the cache was last idle (twice, so that ranges split by earlier blocks do not push the freed
/// working set out). A program that frees its whole working set of large buffers and builds it again within the
/// purge delay reuses all of it, and the process's large memory, live and cached, stays within three times its
/// recent peak even before the purge.</para>
/// <para>Cached ranges are purged one delay after the program's last large allocation or free, not one delay after
/// their own free: a program that keeps cycling through large buffers, each reused a little later than the delay,
/// would otherwise fault them all in again. Ranges no block has taken for eight delays are unmapped either way. (A
/// free's time is exact; allocations are timed when the purger next looks, see <see cref="s_lastActivity"/>.)</para>
/// </remarks>
/// <remarks>
/// <para>Every live block is in <see cref="s_live"/> (address → size), guarded by <see cref="s_gate"/> (a spin gate: every critical section is a few table operations); the table is
/// what proves a pointer is one of ours, so a bad pointer never makes the allocator read foreign memory. Large
/// frees cost far more than a lock and a hash lookup anyway.</para>
/// <para>A new block takes the lowest-addressed cached range that fits and splits off the rest. <c>Realloc</c> grows a block
/// in place by taking the cached range right after it, shrinks it by caching its tail, and otherwise uses mremap
/// (in place when the kernel can, moved without copying when not); if mremap refuses (for instance a range that
/// spans two kernel mappings), it falls back to allocate, copy and free.</para>
/// </remarks>
internal static unsafe class LargeBlocks
{
    /// <summary>Largest request accepted: 2^46 bytes (64 TiB); anything above is impossible and throws OutOfMemoryException.</summary>
    public static readonly nuint MaxRequest = (nuint)1 << 46;

    private static SpinGate s_gate;
    private static readonly Dictionary<nuint, nuint> s_live = [];

    // Cached free ranges, sorted by address, not overlapping; adjacent ranges with the same purge state are merged
    // (a freed block joins unpurged neighbours, a purged range purged ones).
    private static readonly List<CachedRange> s_cache = [];

    // The most recently freed addresses, to tell a double free from a wild pointer.
    private static readonly nuint[] s_recentlyFreed = new nuint[64];
    private static int s_recentIndex;

    private static long s_cachedBytes;

    // The most bytes of live large blocks since the cache last held no unpurged range (raised with every allocation,
    // lowered to the bytes in use by Maintain when the cache is idle): what the program recently needed at once.
    private static long s_recentPeak;

    // When a large block was last allocated or freed (Environment.TickCount64). Cached ranges are purged one delay
    // after this, not after their own free: while the program keeps allocating and freeing large blocks, the ranges
    // it is cycling through stay warm; once it stops for a delay, all of them go back to the OS. A free stamps its own
    // time (it reads the clock anyway, for the range's FreedAt); an allocation does not read the clock, which would
    // be a third of a cached allocation's bookkeeping: Maintain stamps its own time when s_allocs has moved since
    // its last look (s_allocsSeen), so allocations alone postpone a purge by at most one more delay than exact times.
    private static long s_lastActivity;
    private static long s_allocsSeen;
    private static long s_allocs;
    private static long s_frees;
    private static long s_bytesInUse;

    private struct CachedRange
    {
        public nuint Address;
        public nuint Size;
        public long FreedAt;
        public bool Purged;

        public readonly nuint End => Address + Size;
    }

    /// <summary>Bytes in live large blocks.</summary>
    public static long BytesInUse => Volatile.Read(ref s_bytesInUse);

    /// <summary>Live large blocks.</summary>
    public static long LiveCount => Volatile.Read(ref s_allocs) - Volatile.Read(ref s_frees);

    /// <summary>Large allocations so far.</summary>
    public static long Allocations => Volatile.Read(ref s_allocs);

    /// <summary>Large frees so far.</summary>
    public static long Frees => Volatile.Read(ref s_frees);

    /// <summary>Bytes of freed ranges held in the cache.</summary>
    public static long CachedBytes => Volatile.Read(ref s_cachedBytes);

    /// <summary>Raises the allocator's peak in use with the last arena sample plus the large bytes now in use.</summary>
    private static void NotePeak() => Arena.NotePeakCandidate(Volatile.Read(ref Arena.s_arenaInUseSample) + BytesInUse);

    private static nuint RoundToPages(nuint size) => (size + OsMemory.PageSize - 1) & ~(OsMemory.PageSize - 1);

    /// <summary>
    /// A block of at least <paramref name="size"/> bytes aligned to <paramref name="alignment"/> (a power of two, at
    /// least the page size), zeroed when asked. Throws <see cref="OutOfMemoryException"/> when the OS refuses.
    /// </summary>
    public static void* Alloc(nuint size, nuint alignment, bool zero)
    {
        if (size > MaxRequest)
        {
            throw ThrowHelper.TooLarge(size);
        }

        nuint mapped = RoundToPages(Math.Max(size, 1));
        byte* p = null;
        bool isZero = true;
        using (s_gate.Enter())
        {
            int fit = FirstFit(mapped, alignment);
            if (fit >= 0)
            {
                CachedRange range = s_cache[fit];
                TakeFront(fit, mapped);
                p = (byte*)range.Address;
                isZero = range.Purged;
                if (range.Purged)
                {
                    AdjustCommitted((long)mapped, 0);
                }

                Register(p, mapped);
            }
        }

        if (p == null)
        {
            // A mapping for huge pages is a whole number of 2 MiB stretches on a 2 MiB boundary, so that all of it
            // can be huge pages (side by side, the large row went from 1.00 of glibc's time to 0.93-0.95), and so
            // that the next such mapping, which the kernel places right below this one, is aligned too and its
            // ranges merge with this one's in the cache (aligned but not whole, the gaps stopped freed ranges from
            // merging, and malloc-large's peak RSS rose from 364 to 587 MiB). The part past the block joins the
            // cache as an ordinary unpurged range, so that it merges with its neighbours; it is counted as
            // committed, though untouched, until the purger's pass.
            bool huge = AllocatorOptions.HugePages && mapped >= OsMemory.HugePageSize;
            nuint mapSize = huge ? (mapped + OsMemory.HugePageSize - 1) & ~(OsMemory.HugePageSize - 1) : mapped;
            p = (byte*)OsMemory.MapAligned(mapSize, huge ? Math.Max(alignment, OsMemory.HugePageSize) : alignment);
            if (p == null)
            {
                throw new OutOfMemoryException($"{Libc.Describe("mmap", OsMemory.t_lastErrno)} while allocating a large block of {size} bytes");
            }

            Interlocked.Increment(ref Arena.s_mapCalls);
            AdjustCommitted((long)mapSize, (long)mapSize);
            if (AllocatorOptions.LabelMemory)
            {
                OsMemory.Name(p, mapSize, "allocator-large");
            }

            if (huge)
            {
                OsMemory.AdviseHugePages(p, mapSize);
            }

            List<CachedRange>? evicted = null;
            bool tailCached = true;
            using (s_gate.Enter())
            {
                Register(p, mapped);
                if (mapSize > mapped)
                {
                    tailCached = CacheRange((nuint)p + mapped, mapSize - mapped, Environment.TickCount64, ref evicted);
                }
            }

            UnmapAll(evicted);
            if (!tailCached)
            {
                UnmapRange(new CachedRange { Address = (nuint)p + mapped, Size = mapSize - mapped });
            }
        }

        if (zero && !isZero)
        {
            ZeroMemory.Clear(p, mapped);
        }

        NotePeak();
        return p;
    }

    /// <summary>Records a new live block. Caller holds the gate.</summary>
    private static void Register(void* p, nuint size)
    {
        s_live[(nuint)p] = size;
        s_allocs++;
        GrowInUse((long)size);
    }

    /// <summary>Adds to the bytes in live large blocks, keeping <see cref="s_recentPeak"/> at least that. Caller holds the gate.</summary>
    private static void GrowInUse(long bytes)
    {
        s_bytesInUse += bytes;
        s_recentPeak = Math.Max(s_recentPeak, s_bytesInUse);
    }

    /// <summary>
    /// Bytes the cache may hold now: twice the program's recent peak of live large bytes, but at least
    /// <see cref="CacheFloor"/> and at most <see cref="AllocatorOptions.LargeCacheBytes"/>. Caller holds the gate.
    /// </summary>
    private static long CacheLimit => Math.Min(AllocatorOptions.LargeCacheBytes, Math.Max(CacheFloor, 2 * s_recentPeak));

    /// <summary>The cache may always hold this much (64 MiB), whatever the program's recent peak.</summary>
    private const long CacheFloor = 64L << 20;

    /// <summary>
    /// Index of the lowest-addressed cached range that can hold <paramref name="size"/> bytes at its start with the
    /// alignment, preferring a range not yet purged (its pages are still there; a purged one faults every page in
    /// again), or -1. Address-ordered first fit reuses the same low addresses again and again (warm in the caches
    /// and the TLB, as glibc's heap top is), and keeps fragmentation low because freed blocks merge back into the
    /// range they were cut from.
    /// </summary>
    private static int FirstFit(nuint size, nuint alignment)
    {
        int purgedFit = -1;
        for (int i = 0; i < s_cache.Count; i++)
        {
            CachedRange r = s_cache[i];
            if (r.Size >= size && (r.Address & (alignment - 1)) == 0)
            {
                if (!r.Purged)
                {
                    return i;
                }

                if (purgedFit < 0)
                {
                    purgedFit = i;
                }
            }
        }

        return purgedFit;
    }

    /// <summary>Removes the first <paramref name="size"/> bytes of cached range <paramref name="index"/>. Caller holds the gate.</summary>
    private static void TakeFront(int index, nuint size)
    {
        CachedRange r = s_cache[index];
        s_cachedBytes -= (long)size;
        if (r.Size == size)
        {
            s_cache.RemoveAt(index);
        }
        else
        {
            r.Address += size;
            r.Size -= size;
            s_cache[index] = r;
        }
    }

    /// <summary>The size of the live large block at <paramref name="ptr"/>, or an exception saying what is wrong.</summary>
    public static nuint SizeOf(void* ptr, string operation)
    {
        using (s_gate.Enter())
        {
            if (s_live.TryGetValue((nuint)ptr, out nuint size))
            {
                return size;
            }

            throw Explain(ptr, operation);
        }
    }

    /// <summary>Frees a large block: its range joins the cache when it fits, else it is unmapped at once.</summary>
    public static void Free(void* ptr)
    {
        nuint p = (nuint)ptr;
        nuint size;
        List<CachedRange>? evicted = null;
        bool cached;
        long now = Environment.TickCount64;
        using (s_gate.Enter())
        {
            if (!s_live.Remove(p, out size))
            {
                throw Explain(ptr, "Free");
            }

            s_frees++;
            s_bytesInUse -= (long)size;
            s_recentlyFreed[s_recentIndex] = p;
            s_recentIndex = (s_recentIndex + 1) % s_recentlyFreed.Length;
            cached = CacheRange(p, size, now, ref evicted);
        }

        if (evicted is not null)
        {
            UnmapAll(evicted);
        }

        if (cached)
        {
            Purger.Wake(now);
            return;
        }

        UnmapRange(new CachedRange { Address = p, Size = size });
    }

    /// <summary>
    /// Adds a freed range to the cache, merging it with adjacent unpurged ranges and evicting the oldest ranges
    /// (returned for unmapping outside the gate) to stay within the limits. False when it does not fit at all.
    /// Caller holds the gate.
    /// </summary>
    private static bool CacheRange(nuint address, nuint size, long now, ref List<CachedRange>? evicted)
    {
        long limit = CacheLimit;
        if ((long)size > limit || AllocatorOptions.LargeCacheCount == 0)
        {
            return false;
        }

        s_lastActivity = now;
        InsertMerged(new CachedRange { Address = address, Size = size, FreedAt = now });
        while (s_cachedBytes > limit || s_cache.Count > AllocatorOptions.LargeCacheCount)
        {
            int oldest = 0;
            for (int i = 1; i < s_cache.Count; i++)
            {
                if (s_cache[i].FreedAt < s_cache[oldest].FreedAt)
                {
                    oldest = i;
                }
            }

            (evicted ??= []).Add(s_cache[oldest]);
            s_cachedBytes -= (long)s_cache[oldest].Size;
            s_cache.RemoveAt(oldest);
        }

        return true;
    }

    /// <summary>
    /// Puts a range into the sorted cache, merged in place with the neighbours it touches that have the same purge
    /// state (the usual case when a block cut from a cached range comes back); inserted only when none does. A merged
    /// range keeps the latest FreedAt of its parts. Caller holds the gate.
    /// </summary>
    private static void InsertMerged(CachedRange r)
    {
        int at = 0;
        while (at < s_cache.Count && s_cache[at].Address < r.Address)
        {
            at++;
        }

        s_cachedBytes += (long)r.Size;
        bool joinsNext = at < s_cache.Count && s_cache[at].Purged == r.Purged && s_cache[at].Address == r.End;
        bool joinsPrevious = at > 0 && s_cache[at - 1].Purged == r.Purged && s_cache[at - 1].End == r.Address;
        if (joinsNext)
        {
            r.Size += s_cache[at].Size;
            r.FreedAt = Math.Max(r.FreedAt, s_cache[at].FreedAt);
        }

        if (joinsPrevious)
        {
            CachedRange previous = s_cache[at - 1];
            previous.Size += r.Size;
            previous.FreedAt = Math.Max(previous.FreedAt, r.FreedAt);
            s_cache[at - 1] = previous;
            if (joinsNext)
            {
                s_cache.RemoveAt(at);
            }
        }
        else if (joinsNext)
        {
            s_cache[at] = r;
        }
        else
        {
            s_cache.Insert(at, r);
        }
    }

    /// <summary>
    /// Resizes a large block: in place when shrinking (the tail is cached) or when the cached range right after it
    /// can be taken; else with mremap; else by allocate, copy and free. Throws <see cref="OutOfMemoryException"/>
    /// when it cannot grow, leaving the block as it was.
    /// </summary>
    public static void* Realloc(void* ptr, nuint newSize)
    {
        if (newSize > MaxRequest)
        {
            SizeOf(ptr, "Realloc");
            throw ThrowHelper.TooLarge(newSize);
        }

        nuint mapped = RoundToPages(Math.Max(newSize, 1));
        nuint end = (nuint)ptr;
        List<CachedRange>? evicted = null;
        nuint oldSize;
        long now = Environment.TickCount64;
        using (s_gate.Enter())
        {
            if (!s_live.TryGetValue((nuint)ptr, out oldSize))
            {
                throw Explain(ptr, "Realloc");
            }

            if (mapped == oldSize)
            {
                return ptr;
            }

            end += oldSize;
            if (mapped < oldSize)
            {
                // Shrink in place: the tail becomes a cached range (or is unmapped below when it does not fit).
                s_live[(nuint)ptr] = mapped;
                s_bytesInUse -= (long)(oldSize - mapped);
                if (!CacheRange((nuint)ptr + mapped, oldSize - mapped, now, ref evicted))
                {
                    (evicted ??= []).Add(new CachedRange { Address = (nuint)ptr + mapped, Size = oldSize - mapped });
                }
            }
            else
            {
                // Grow in place when the range right after the block is cached and long enough.
                int next = s_cache.Count - 1;
                while (next >= 0 && s_cache[next].Address != end)
                {
                    next--;
                }

                if (next >= 0 && s_cache[next].Size >= mapped - oldSize)
                {
                    bool purged = s_cache[next].Purged;
                    TakeFront(next, mapped - oldSize);
                    if (purged)
                    {
                        AdjustCommitted((long)(mapped - oldSize), 0);
                    }

                    s_live[(nuint)ptr] = mapped;
                    GrowInUse((long)(mapped - oldSize));
                    NotePeak();
                    return ptr;
                }
            }
        }

        if (mapped < oldSize)
        {
            UnmapAll(evicted);
            Purger.Wake(now);
            return ptr;
        }

        void* moved = OsMemory.Remap(ptr, oldSize, mapped);
        if (moved == null)
        {
            // mremap refused (out of memory, or a range made of two kernel mappings): allocate, copy, free.
            int errno = OsMemory.t_lastErrno;
            void* fresh;
            try
            {
                fresh = Alloc(newSize, OsMemory.PageSize, false);
            }
            catch (OutOfMemoryException)
            {
                throw new OutOfMemoryException($"{Libc.Describe("mremap", errno)} while resizing a large block from {oldSize} to {newSize} bytes");
            }

            Buffer.MemoryCopy(ptr, fresh, oldSize, oldSize);
            Free(ptr);
            return fresh;
        }

        Interlocked.Increment(ref Arena.s_mapCalls);
        long delta = (long)mapped - (long)oldSize;
        using (s_gate.Enter())
        {
            s_live.Remove((nuint)ptr);
            s_live[(nuint)moved] = mapped;
            GrowInUse(delta);
        }

        AdjustCommitted(delta, delta);
        NotePeak();
        return moved;
    }

    /// <summary>
    /// Purges cached ranges once a delay has passed both since their free and since the last large allocation or free
    /// (<see cref="s_lastActivity"/>), and unmaps ranges eight delays after their free; returns the next deadline.
    /// </summary>
    public static long Maintain(long now, bool force)
    {
        long delay = force ? 0 : AllocatorOptions.PurgeDelayMilliseconds;
        long next = long.MaxValue;
        List<CachedRange>? evicted = null;
        List<CachedRange>? toPurge = null;
        bool idle = true;
        using (s_gate.Enter())
        {
            if (s_allocs != s_allocsSeen)
            {
                // Large allocations since the last look: as recent as now, for all this pass can tell.
                s_allocsSeen = s_allocs;
                s_lastActivity = Math.Max(s_lastActivity, now);
            }

            for (int i = s_cache.Count - 1; i >= 0; i--)
            {
                CachedRange r = s_cache[i];
                long age = now - r.FreedAt;
                if (force || age >= 8 * delay)
                {
                    s_cache.RemoveAt(i);
                    s_cachedBytes -= (long)r.Size;
                    (evicted ??= []).Add(r);
                }
                else if (!r.Purged && age >= delay && now - s_lastActivity >= delay)
                {
                    // Taken out while the system call runs outside the gate, so large allocations and frees on
                    // other threads never wait for a madvise of many megabytes.
                    s_cache.RemoveAt(i);
                    s_cachedBytes -= (long)r.Size;
                    (toPurge ??= []).Add(r);
                    next = Math.Min(next, r.FreedAt + (8 * delay));
                }
                else
                {
                    next = Math.Min(next, r.Purged ? r.FreedAt + (8 * delay) : Math.Max(r.FreedAt, s_lastActivity) + delay);
                    idle &= r.Purged;
                }
            }

            if (idle)
            {
                // Nothing freed in the last delay is waiting for reuse: the burst that set the peak is over.
                s_recentPeak = s_bytesInUse;
            }
        }

        UnmapAll(evicted);
        if (toPurge is not null)
        {
            PurgeAndReturn(toPurge);
        }

        return next;
    }

    /// <summary>Purges ranges taken out of the cache and puts them back, merged with purged neighbours.</summary>
    private static void PurgeAndReturn(List<CachedRange> ranges)
    {
        foreach (CachedRange r in ranges)
        {
            OsMemory.Purge((void*)r.Address, r.Size);
            Interlocked.Increment(ref Arena.s_purgeCalls);
            AdjustCommitted(-(long)r.Size, 0);
        }

        using (s_gate.Enter())
        {
            foreach (CachedRange taken in ranges)
            {
                InsertMerged(taken with { Purged = true });
            }
        }
    }

    private static void UnmapAll(List<CachedRange>? ranges)
    {
        if (ranges is null)
        {
            return;
        }

        foreach (CachedRange r in ranges)
        {
            UnmapRange(r);
        }
    }

    private static void UnmapRange(CachedRange r)
    {
        OsMemory.Unmap((void*)r.Address, r.Size);
        Interlocked.Increment(ref Arena.s_unmapCalls);
        AdjustCommitted(r.Purged ? 0 : -(long)r.Size, -(long)r.Size);
    }

    private static void AdjustCommitted(long committed, long reserved)
    {
        lock (Arena.s_lock)
        {
            Arena.s_committed += committed;
            Arena.s_reserved += reserved;
            if (Arena.s_committed > Arena.s_peakCommitted)
            {
                Arena.s_peakCommitted = Arena.s_committed;
            }
        }
    }

    /// <summary>The exception for a pointer that is not a live large block. Caller holds the gate.</summary>
    private static Exception Explain(void* ptr, string operation)
    {
        nuint p = (nuint)ptr;
        foreach (KeyValuePair<nuint, nuint> live in s_live)
        {
            if (p > live.Key && p < live.Key + live.Value)
            {
                return ThrowHelper.NotABlock(ptr, operation, $"it points {p - live.Key} bytes into a large block of {live.Value} bytes; pass the pointer the allocator returned");
            }
        }

        if (Array.IndexOf(s_recentlyFreed, p) >= 0 || s_cache.Exists(r => r.Address <= p && p < r.End))
        {
            return ThrowHelper.DoubleFree(ptr, operation, 0);
        }

        return ThrowHelper.NotABlock(ptr, operation, "it was not allocated by NativeAllocator (or was already freed and its memory returned to the OS)");
    }
}
