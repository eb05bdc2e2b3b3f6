using System.Numerics;
using System.Runtime.CompilerServices;
using Allocator.Heap;

namespace Allocator.Buffers;

/// <summary>
/// The recycled blocks behind every <see cref="NativeMemoryPool{T}"/>: per thread, one block per size bucket; behind
/// that, per bucket, a small locked stack shared by all threads (so a block disposed on one thread serves the next
/// rent on another, as in a pipe); behind that, the allocator.
/// </summary>
/// <remarks>
/// <para>The shape is <c>ArrayPool&lt;byte&gt;.Shared</c>'s (dotnet/runtime SharedArrayPool: a per-thread slot
/// first, then shared stacks, trimmed on Gen2 GC), with native blocks in the slots. Buckets are the allocator's
/// 52 size classes up to 256 KiB (so a cached block's size is exactly what the allocator would give) and four
/// powers of two above: 512 KiB, 1, 2 and 4 MiB (a block in one is at least that size; it keeps its mapping's
/// usable size). Larger blocks are not cached.</para>
/// <para>A thread's slots live in its <see cref="ThreadCache"/> and are taken and filled with plain loads and
/// stores; the trimmer, which empties other threads' slots, coordinates with them through the handshake described
/// there (an asymmetric barrier), so that exactly one side gets each block and only trimming pays for a fence.</para>
/// <para><b>Trimming.</b> After each Gen2 GC, every cached block that has not been returned since the previous
/// trim is freed. A thread that exits leaves its slots unreachable; their blocks' finalizers free them.
/// <see cref="Drain"/> frees everything at once.</para>
/// </remarks>
internal static unsafe class BlockCache
{
    /// <summary>Power-of-two buckets above the allocator's size classes: 512 KiB, 1 MiB, 2 MiB, 4 MiB.</summary>
    public const int LargeBucketCount = 4;

    /// <summary>All buckets: the size classes, then the large ones.</summary>
    public const int BucketCount = SizeClasses.Count + LargeBucketCount;

    /// <summary>The largest cached block: 4 MiB.</summary>
    public const int MaxCachedSize = SizeClasses.MaxSize << LargeBucketCount;

    /// <summary>Blocks each bucket's shared stack holds.</summary>
    public const int SharedDepth = 8;

    private const int MaxSizeShift = 18; // log2(SizeClasses.MaxSize)

    private static readonly SharedStack[] s_shared = CreateShared();
    private static readonly ConditionalWeakTable<ThreadCache, object?> s_allCaches = new();
    private static readonly Lock s_trimLock = new();
    private static int s_epoch;

    static BlockCache() => Gen2Callback.Register(() => Trim(all: false));

    /// <summary>The bucket for a request of <paramref name="bytes"/>; -1 when too large to cache.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Bucket(nuint bytes)
    {
        if (bytes <= SizeClasses.MaxSize)
        {
            return SizeClasses.Index(bytes);
        }

        return bytes <= MaxCachedSize ? SizeClasses.Count + BitOperations.Log2(bytes - 1) - MaxSizeShift : -1;
    }

    /// <summary>The (least) size of the blocks of <paramref name="bucket"/>; for -1, <paramref name="bytes"/> itself.</summary>
    public static nuint BucketSize(int bucket, nuint bytes) =>
        bucket < 0 ? bytes : bucket < SizeClasses.Count ? SizeClasses.Sizes[bucket] : (nuint)SizeClasses.MaxSize << (bucket - SizeClasses.Count + 1);

    /// <summary>A block of at least <paramref name="bytes"/>: this thread's slot, else the shared stack, else a new one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NativeBlock Take(ThreadCache cache, nuint bytes)
    {
        int bucket = Bucket(bytes);
        if (bucket >= 0)
        {
            if (cache.TryEnter())
            {
                ref NativeBlock? slot = ref cache.Slots[bucket];
                NativeBlock? block = slot;
                if (block is not null)
                {
                    slot = null;
                    cache.Exit();
                    return block;
                }
            }

            cache.Exit();
        }

        return TakeSlow(bucket, bytes);
    }

    /// <summary>Takes back a block no longer rented: into this thread's slot, else the shared stack, else freed.</summary>
    /// <remarks>
    /// Needs no handshake with the trimmer: it only fills an empty slot, and the trimmer only empties full ones, so
    /// a slot this thread sees empty stays empty until this thread fills it (the trimmer then either misses the
    /// block or takes it whole, and this thread no longer touches it).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Give(ThreadCache cache, NativeBlock block)
    {
        int bucket = block.Bucket;
        if (bucket >= 0)
        {
            ref NativeBlock? slot = ref cache.Slots[bucket];
            if (slot is null)
            {
                block.Epoch = s_epoch;
                Volatile.Write(ref slot, block);
                return;
            }
        }

        GiveSlow(block);
    }

    /// <summary>Makes <paramref name="cache"/>'s slots visible to the trimmer; called once per thread.</summary>
    public static void Register(ThreadCache cache) => s_allCaches.Add(cache, null);

    /// <summary>Frees every cached block, of every thread, now.</summary>
    public static void Drain() => Trim(all: true);

    /// <summary>Frees a block, swallowing errors: for finalizers, which must not throw.</summary>
    public static void FreeQuietly(void* pointer)
    {
        try
        {
            NativeAllocator.Free(pointer);
        }
        catch (Exception)
        {
            // Nothing sensible to do on the finalizer thread; the allocator has already reported nothing to anyone.
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static NativeBlock TakeSlow(int bucket, nuint bytes)
    {
        nuint size = BucketSize(bucket, bytes);
        if (bucket < 0)
        {
            void* large = NativeAllocator.Alloc(size);
            return new NativeBlock(large, NativeAllocator.UsableSize(large), -1);
        }

        if (s_shared[bucket].TryPop() is NativeBlock shared)
        {
            return shared;
        }

        // A size class is allocated by class, so the block is exactly the bucket's size. A large bucket's block is
        // a mapping of at least that power of two (the allocator may reuse a cached one up to twice as large): all
        // of it is used.
        if (bucket < SizeClasses.Count)
        {
            return new NativeBlock(Arena.AllocClass(bucket, false), size, bucket);
        }

        void* p = NativeAllocator.Alloc(size);
        return new NativeBlock(p, NativeAllocator.UsableSize(p), bucket);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void GiveSlow(NativeBlock block)
    {
        if (block.Bucket < 0 || !s_shared[block.Bucket].TryPush(block))
        {
            Release(block);
        }
    }

    /// <summary>Frees a block taken out of the cache (or never put in) and retires its guard.</summary>
    private static void Release(NativeBlock block)
    {
        nint pointer = block.Pointer;
        block.Pointer = 0;
        GC.SuppressFinalize(block);
        NativeAllocator.Free((void*)pointer);
    }

    /// <summary>Frees cached blocks: all of them, or those not returned since the previous trim.</summary>
    private static void Trim(bool all)
    {
        lock (s_trimLock)
        {
            int epoch = Interlocked.Increment(ref s_epoch);
            foreach (SharedStack stack in s_shared)
            {
                foreach (NativeBlock block in stack.TakeIdle(all ? int.MaxValue : epoch - 1))
                {
                    Release(block);
                }
            }

            // The trimmer's half of the handshake described on ThreadCache: lock every cache, fence every running
            // thread once, then wait for each owner that was inside its slots to leave them.
            var caches = new List<ThreadCache>();
            foreach (KeyValuePair<ThreadCache, object?> entry in s_allCaches)
            {
                Volatile.Write(ref entry.Key.Locked, 1);
                caches.Add(entry.Key);
            }

            Interlocked.MemoryBarrierProcessWide();
            foreach (ThreadCache cache in caches)
            {
                SpinWait spin = default;
                while (Volatile.Read(ref cache.Busy) != 0)
                {
                    spin.SpinOnce();
                }

                Span<NativeBlock?> slots = cache.Slots;
                for (int i = 0; i < slots.Length; i++)
                {
                    NativeBlock? block = Volatile.Read(ref slots[i]);
                    if (block is not null && (all || epoch - block.Epoch > 1))
                    {
                        slots[i] = null;
                        Release(block);
                    }
                }

                Volatile.Write(ref cache.Locked, 0);
            }
        }
    }

    private static SharedStack[] CreateShared()
    {
        var stacks = new SharedStack[BucketCount];
        for (int i = 0; i < stacks.Length; i++)
        {
            stacks[i] = new SharedStack();
        }

        return stacks;
    }

    /// <summary>One bucket's shared blocks: a short stack behind a lock, touched only when a thread's slot misses.</summary>
    private sealed class SharedStack
    {
        private readonly Lock _lock = new();
        private readonly NativeBlock[] _blocks = new NativeBlock[SharedDepth];
        private int _count;

        public NativeBlock? TryPop()
        {
            lock (_lock)
            {
                if (_count == 0)
                {
                    return null;
                }

                NativeBlock block = _blocks[--_count];
                _blocks[_count] = null!;
                return block;
            }
        }

        public bool TryPush(NativeBlock block)
        {
            lock (_lock)
            {
                if (_count == _blocks.Length)
                {
                    return false;
                }

                _blocks[_count++] = block;
                return true;
            }
        }

        /// <summary>Removes and returns the blocks last returned before <paramref name="epoch"/> (int.MaxValue: all).</summary>
        public List<NativeBlock> TakeIdle(int epoch)
        {
            var idle = new List<NativeBlock>();
            lock (_lock)
            {
                int kept = 0;
                for (int i = 0; i < _count; i++)
                {
                    NativeBlock block = _blocks[i];
                    if (epoch == int.MaxValue || block.Epoch < epoch)
                    {
                        idle.Add(block);
                    }
                    else
                    {
                        _blocks[kept++] = block;
                    }
                }

                Array.Clear(_blocks, kept, _count - kept);
                _count = kept;
            }

            return idle;
        }
    }
}
