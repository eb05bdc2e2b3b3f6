using System.Runtime.CompilerServices;
using System.Text.Json;
using Allocator.Buffers;

namespace Allocator.Probe;

/// <summary>
/// The target of the allocator-inspect tests: allocates known amounts, prints its own statistics as one JSON line
/// ("stats-json: {...}") and "ready", then waits until its standard input closes. Run it with a long purge delay
/// (ALLOCATOR_PURGE_DELAY_MS) so that the purger changes nothing while it is inspected.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Blocks of seven size classes (small, medium and large-kind pages), every third one freed again, so that pages
/// have free lists; 100 blocks of 48 bytes freed by another thread and never collected (a thread-free list).</item>
/// <item>Large blocks of 1, 3 and 5 MiB, and a 2 MiB one freed (it stays in the large cache).</item>
/// <item>Pool owners: 5 outstanding (held by <see cref="s_outstanding"/>), 4 disposed but still referenced
/// (<see cref="s_disposed"/>), 3 leaked (dropped, then collected and finalized, so the pool counts them in
/// Leaked), and, inside a no-GC region so that no collection can finalize them, 2 dropped without Dispose
/// (unreachable: leaks not yet found). "Owners not disposed" that allocator-inspect must report are exactly the 5.</item>
/// </list>
/// </remarks>
internal static unsafe class InspectTarget
{
    private static readonly List<NativeMemoryOwner<byte>> s_outstanding = [];
    private static readonly List<NativeMemoryOwner<byte>> s_disposed = [];
    private static readonly List<nint> s_blocks = [];

    public static int Run()
    {
        Console.WriteLine($"pid: {Environment.ProcessId}");
        foreach ((int size, int count) in new[] { (16, 1000), (100, 500), (1000, 300), (3000, 100), (40_000, 20), (200_000, 3) })
        {
            for (int i = 0; i < count; i++)
            {
                void* p = NativeAllocator.Alloc((nuint)size);
                if (i % 3 == 2)
                {
                    NativeAllocator.Free(p);
                }
                else
                {
                    s_blocks.Add((nint)p);
                }
            }
        }

        foreach (int mib in new[] { 1, 3, 5 })
        {
            s_blocks.Add((nint)NativeAllocator.Alloc((nuint)mib << 20));
        }

        NativeAllocator.Free(NativeAllocator.Alloc(2 << 20));

        NativeMemoryPool<byte> pool = NativeMemoryPool.Shared;
        foreach (int size in new[] { 1000, 4096, 65_536, 300_000, 2 << 20 })
        {
            s_outstanding.Add(pool.RentOwner(size));
        }

        foreach (int size in new[] { 500, 8192, 100_000, 1 << 20 })
        {
            NativeMemoryOwner<byte> owner = pool.RentOwner(size);
            owner.Dispose();
            s_disposed.Add(owner);
        }

        RentAndDrop(pool, [700, 20_000, 3 << 20]);
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        // From here on no GC runs (the region allows 64 MiB of allocation), so the owners dropped next stay on the
        // heap, unreachable and not finalized.
        if (!GC.TryStartNoGCRegion(64 << 20))
        {
            Console.WriteLine("error: could not start a no-GC region");
            return 1;
        }

        RentAndDrop(pool, [600, 70_000]);

        // The remote frees come last, so that no later allocation of this class collects them.
        var remote = new nint[200];
        for (int i = 0; i < remote.Length; i++)
        {
            remote[i] = (nint)NativeAllocator.Alloc(48);
        }

        var freer = new Thread(() =>
        {
            for (int i = 0; i < remote.Length; i += 2)
            {
                NativeAllocator.Free((void*)remote[i]);
            }
        });
        freer.Start();
        freer.Join();
        for (int i = 1; i < remote.Length; i += 2)
        {
            s_blocks.Add(remote[i]);
        }

        var stats = NativeAllocator.GetStatistics();
        NativeMemoryPoolStatistics poolStats = pool.GetStatistics();
        var report = new
        {
            stats.BytesInUse,
            stats.BytesCommitted,
            stats.BytesReserved,
            stats.Segments,
            stats.LargeBlocks,
            stats.LargeBytesInUse,
            stats.LargeCacheBytes,
            stats.ThreadHeaps,
            SizeClasses = stats.SizeClasses.Where(c => c.Pages > 0).Select(c => new { c.BlockSize, c.Pages, c.LiveBlocks, c.FreeBlocks }).ToArray(),
            RemoteFreedBlockSize = (int)NativeAllocator.UsableSize((void*)remote[1]),
            RemoteFreed = remote.Length / 2,
            Pool = new { poolStats.Outstanding, poolStats.OutstandingBytes, poolStats.Leaked, poolStats.Returns },
            Outstanding = s_outstanding.Select(o => new { Block = (ulong)o.Pointer, o.Length, Bytes = (long)NativeAllocator.UsableSize(o.Pointer) }).ToArray(),
        };
        Console.WriteLine($"stats-json: {JsonSerializer.Serialize(report)}");
        Console.WriteLine("ready");
        Console.In.ReadLine();
        GC.KeepAlive(s_blocks);
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RentAndDrop(NativeMemoryPool<byte> pool, int[] sizes)
    {
        foreach (int size in sizes)
        {
            pool.RentOwner(size).Span[0] = 1;
        }
    }
}
