using Allocator.Platform;

namespace Allocator.Heap;

/// <summary>
/// Blocks above <see cref="SizeClasses.MaxSize"/> (256 KiB), or aligned beyond what pages give: each gets its own
/// private anonymous mapping. A freed one goes into a small bounded cache (purged after the delay, unmapped after
/// eight delays or when the cache is full), so that a program that frees and allocates large buffers in a loop
/// reuses warm memory instead of faulting in fresh pages every time.
/// </summary>
/// <remarks>
/// <para>Every live block is in <see cref="s_live"/> (address → mapped size), guarded by <see cref="s_lock"/>; the
/// table is what proves a pointer is one of ours, so a bad pointer never makes the allocator read foreign memory.
/// Large frees cost a system call anyway, so a lock and a hash lookup are noise next to them.</para>
/// <para>Realloc of a large block uses mremap: in place when the kernel can, moved without copying when not.</para>
/// </remarks>
internal static unsafe class LargeBlocks
{
    /// <summary>Largest request accepted: 2^46 bytes (64 TiB); anything above is impossible and throws OutOfMemoryException.</summary>
    public static readonly nuint MaxRequest = (nuint)1 << 46;

    private static readonly Lock s_lock = new();
    private static readonly Dictionary<nuint, nuint> s_live = [];
    private static readonly List<CachedMapping> s_cache = [];

    // The most recently freed (and unmapped or cached) addresses, to tell a double free from a wild pointer.
    private static readonly nuint[] s_recentlyFreed = new nuint[64];
    private static int s_recentIndex;

    private static long s_cachedBytes;
    private static long s_allocs;
    private static long s_frees;
    private static long s_bytesInUse;

    private struct CachedMapping
    {
        public nuint Address;
        public nuint Size;
        public long FreedAt;
        public bool Purged;
    }

    /// <summary>Bytes in live large blocks (their mapped sizes).</summary>
    public static long BytesInUse => Volatile.Read(ref s_bytesInUse);

    /// <summary>Live large blocks.</summary>
    public static long LiveCount => Volatile.Read(ref s_allocs) - Volatile.Read(ref s_frees);

    /// <summary>Large allocations so far.</summary>
    public static long Allocations => Volatile.Read(ref s_allocs);

    /// <summary>Large frees so far.</summary>
    public static long Frees => Volatile.Read(ref s_frees);

    /// <summary>Bytes of freed mappings held in the cache.</summary>
    public static long CachedBytes => Volatile.Read(ref s_cachedBytes);

    /// <summary>A copy of the live blocks, for statistics.</summary>
    public static KeyValuePair<nuint, nuint>[] Snapshot()
    {
        lock (s_lock)
        {
            return [.. s_live];
        }
    }

    private static nuint RoundToPages(nuint size) => (size + OsMemory.PageSize - 1) & ~(OsMemory.PageSize - 1);

    /// <summary>
    /// A mapping of at least <paramref name="size"/> bytes aligned to <paramref name="alignment"/>, zeroed when asked.
    /// Throws <see cref="OutOfMemoryException"/> when the OS refuses.
    /// </summary>
    public static void* Alloc(nuint size, nuint alignment, bool zero)
    {
        if (size > MaxRequest)
        {
            throw ThrowHelper.TooLarge(size);
        }

        nuint mapped = RoundToPages(Math.Max(size, 1));
        CachedMapping reuse = TakeFromCache(mapped, alignment);
        byte* p = (byte*)reuse.Address;
        bool isZero = true;
        if (p != null)
        {
            isZero = reuse.Purged;
            if (reuse.Purged)
            {
                AdjustCommitted((long)reuse.Size, 0);
            }

            if (Fits(reuse.Size, mapped))
            {
                mapped = reuse.Size;
            }
            else
            {
                // Resize the warm mapping: shrinking frees the tail, growing adds fresh zero pages (and may move it).
                byte* q = (byte*)OsMemory.Remap(p, reuse.Size, mapped);
                if (q == null)
                {
                    OsMemory.Unmap(p, reuse.Size);
                    Interlocked.Increment(ref Arena.s_unmapCalls);
                    AdjustCommitted(-(long)reuse.Size, -(long)reuse.Size);
                    p = null;
                }
                else
                {
                    long delta = (long)mapped - (long)reuse.Size;
                    AdjustCommitted(delta, delta);
                    if (AllocatorOptions.Checked && !isZero && delta > 0)
                    {
                        // The grown tail is zero while the rest holds the freed pattern: make it uniform.
                        new Span<byte>(q + reuse.Size, (int)delta).Fill(Diagnostics.CheckedHeap.FreedPattern);
                    }

                    p = q;
                }
            }
        }

        if (p == null)
        {
            p = (byte*)OsMemory.MapAligned(mapped, alignment);
            if (p == null)
            {
                throw new OutOfMemoryException($"{Libc.Describe("mmap", OsMemory.t_lastErrno)} while allocating a large block of {size} bytes");
            }

            isZero = true;
            Interlocked.Increment(ref Arena.s_mapCalls);
            AdjustCommitted((long)mapped, (long)mapped);
            if (AllocatorOptions.LabelMemory)
            {
                OsMemory.Name(p, mapped, "allocator-large");
            }
        }

        if (zero && !isZero)
        {
            System.Runtime.InteropServices.NativeMemory.Clear(p, mapped);
        }

        lock (s_lock)
        {
            s_live[(nuint)p] = mapped;
            s_allocs++;
            s_bytesInUse += (long)mapped;
        }

        Arena.NotePeakCandidate(Volatile.Read(ref Arena.s_arenaInUseSample) + BytesInUse);
        return p;
    }

    private static bool Fits(nuint cached, nuint wanted) => cached >= wanted && cached <= wanted * 2;

    /// <summary>
    /// Takes a cached mapping for a block of <paramref name="mapped"/> bytes: the smallest that fits (at most twice
    /// the size, used as it is), else, when no alignment is needed, the most recently freed one (to be resized).
    /// </summary>
    private static CachedMapping TakeFromCache(nuint mapped, nuint alignment)
    {
        lock (s_lock)
        {
            int fit = -1, any = -1;
            for (int i = 0; i < s_cache.Count; i++)
            {
                CachedMapping m = s_cache[i];
                if ((m.Address & (alignment - 1)) != 0)
                {
                    continue;
                }

                if (Fits(m.Size, mapped))
                {
                    if (fit < 0 || m.Size < s_cache[fit].Size)
                    {
                        fit = i;
                    }
                }
                else
                {
                    any = i;
                }
            }

            int best = fit >= 0 ? fit : alignment <= OsMemory.PageSize ? any : -1;
            if (best < 0)
            {
                return default;
            }

            CachedMapping taken = s_cache[best];
            s_cache.RemoveAt(best);
            s_cachedBytes -= (long)taken.Size;
            return taken;
        }
    }

    /// <summary>The mapped size of the live large block at <paramref name="ptr"/>, or an exception saying what is wrong.</summary>
    public static nuint SizeOf(void* ptr, string operation)
    {
        lock (s_lock)
        {
            if (s_live.TryGetValue((nuint)ptr, out nuint size))
            {
                return size;
            }

            throw Explain(ptr, operation);
        }
    }

    /// <summary>Frees a large block: into the cache when it fits, else unmapped at once.</summary>
    public static void Free(void* ptr)
    {
        nuint p = (nuint)ptr;
        nuint size;
        bool cached = false;
        lock (s_lock)
        {
            if (!s_live.Remove(p, out size))
            {
                throw Explain(ptr, "Free");
            }

            s_frees++;
            s_bytesInUse -= (long)size;
            s_recentlyFreed[s_recentIndex] = p;
            s_recentIndex = (s_recentIndex + 1) % s_recentlyFreed.Length;
            if (s_cachedBytes + (long)size <= AllocatorOptions.LargeCacheBytes && AllocatorOptions.LargeCacheCount > 0)
            {
                if (s_cache.Count >= AllocatorOptions.LargeCacheCount)
                {
                    // Make room by dropping the oldest entry (unmapped below, outside the lock).
                    CachedMapping oldest = s_cache[0];
                    s_cache.RemoveAt(0);
                    s_cachedBytes -= (long)oldest.Size;
                    UnmapCached(oldest);
                }

                s_cache.Add(new CachedMapping { Address = p, Size = size, FreedAt = Environment.TickCount64 });
                s_cachedBytes += (long)size;
                cached = true;
            }
        }

        if (cached)
        {
            Purger.Wake();
            return;
        }

        OsMemory.Unmap(ptr, size);
        Interlocked.Increment(ref Arena.s_unmapCalls);
        AdjustCommitted(-(long)size, -(long)size);
    }

    /// <summary>
    /// Resizes a large block with mremap, in place when possible. Returns the (maybe moved) block; throws
    /// <see cref="OutOfMemoryException"/> when it cannot grow, leaving the block as it was.
    /// </summary>
    public static void* Realloc(void* ptr, nuint newSize)
    {
        nuint oldSize = SizeOf(ptr, "Realloc");
        nuint mapped = RoundToPages(Math.Max(newSize, 1));
        if (mapped == oldSize)
        {
            return ptr;
        }

        if (newSize > MaxRequest)
        {
            throw ThrowHelper.TooLarge(newSize);
        }

        void* q = OsMemory.Remap(ptr, oldSize, mapped);
        if (q == null)
        {
            throw new OutOfMemoryException($"{Libc.Describe("mremap", OsMemory.t_lastErrno)} while resizing a large block from {oldSize} to {newSize} bytes");
        }

        long delta = (long)mapped - (long)oldSize;
        lock (s_lock)
        {
            s_live.Remove((nuint)ptr);
            s_live[(nuint)q] = mapped;
            s_bytesInUse += delta;
        }

        AdjustCommitted(delta, delta);
        if (delta > 0)
        {
            Arena.NotePeakCandidate(Volatile.Read(ref Arena.s_arenaInUseSample) + BytesInUse);
        }

        return q;
    }

    /// <summary>Purges cached mappings whose delay passed and unmaps old ones; returns the next deadline.</summary>
    public static long Maintain(long now, bool force)
    {
        long delay = force ? 0 : AllocatorOptions.PurgeDelayMilliseconds;
        long next = long.MaxValue;
        lock (s_lock)
        {
            for (int i = s_cache.Count - 1; i >= 0; i--)
            {
                CachedMapping m = s_cache[i];
                long age = now - m.FreedAt;
                if (force || age >= 8 * delay)
                {
                    s_cache.RemoveAt(i);
                    s_cachedBytes -= (long)m.Size;
                    UnmapCached(m);
                }
                else if (!m.Purged && age >= delay)
                {
                    OsMemory.Purge((void*)m.Address, m.Size);
                    Interlocked.Increment(ref Arena.s_purgeCalls);
                    AdjustCommitted(-(long)m.Size, 0);
                    m.Purged = true;
                    s_cache[i] = m;
                    next = Math.Min(next, m.FreedAt + (8 * delay));
                }
                else
                {
                    next = Math.Min(next, m.Purged ? m.FreedAt + (8 * delay) : m.FreedAt + delay);
                }
            }
        }

        return next;
    }

    private static void UnmapCached(CachedMapping m)
    {
        OsMemory.Unmap((void*)m.Address, m.Size);
        Interlocked.Increment(ref Arena.s_unmapCalls);
        AdjustCommitted(m.Purged ? 0 : -(long)m.Size, -(long)m.Size);
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

    /// <summary>The exception for a pointer that is not a live large block. Caller holds the lock.</summary>
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

        foreach (CachedMapping m in s_cache)
        {
            if (p == m.Address)
            {
                return ThrowHelper.DoubleFree(ptr, operation, m.Size);
            }
        }

        if (Array.IndexOf(s_recentlyFreed, p) >= 0)
        {
            return ThrowHelper.DoubleFree(ptr, operation, 0);
        }

        return ThrowHelper.NotABlock(ptr, operation, "it was not allocated by NativeAllocator (or was already freed and its memory returned to the OS)");
    }
}
