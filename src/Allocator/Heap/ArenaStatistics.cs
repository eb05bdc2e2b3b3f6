using Allocator.Diagnostics;

namespace Allocator.Heap;

/// <summary>Building a statistics snapshot.</summary>
internal static unsafe partial class Arena
{
    /// <summary>A snapshot of the counters and of every page in use (allocations and live blocks are sums over the pages).</summary>
    public static AllocatorStatistics Snapshot()
    {
        var rows = new SizeClassStatistics[SizeClasses.Count];
        long allocs = LargeBlocks.Allocations, frees = LargeBlocks.Frees, arena = 0;
        lock (s_lock)
        {
            var sums = new PageSums();
            SumPagesUnsynchronized(ref sums);
            for (int c = 0; c < SizeClasses.Count; c++)
            {
                long live = LiveBlocks(ref sums, c);
                long a = Allocations(ref sums, c);
                allocs += a;
                frees += a - live;
                arena += live * SizeClasses.Sizes[c];
                rows[c] = new SizeClassStatistics
                {
                    BlockSize = (int)SizeClasses.Sizes[c],
                    LiveBlocks = live,
                    FreeBlocks = Math.Max(0, sums.Capacity[c] - live),
                    Pages = sums.Pages[c],
                };
            }

            SamplePeakUnsynchronized(arena);
            return new AllocatorStatistics
            {
                BytesInUse = arena + LargeBlocks.BytesInUse,
                PeakBytesInUse = s_peakInUse,
                BytesCommitted = s_committed,
                PeakBytesCommitted = s_peakCommitted,
                BytesReserved = s_reserved,
                Allocations = allocs,
                Frees = frees,
                LargeBlocks = LargeBlocks.LiveCount,
                LargeBytesInUse = LargeBlocks.BytesInUse,
                LargeCacheBytes = LargeBlocks.CachedBytes,
                Segments = s_segmentCount,
                ThreadHeaps = s_heaps.Count,
                OsMapCalls = s_mapCalls,
                OsUnmapCalls = s_unmapCalls,
                OsPurgeCalls = s_purgeCalls,
                SizeClasses = rows,
            };
        }
    }

    /// <summary>
    /// Gives free memory back to the OS now: reaps exited threads' heaps, releases the calling thread's kept empty
    /// pages (and asks other threads to release theirs at their next slow path), then purges what is due, or
    /// everything when <paramref name="force"/>.
    /// </summary>
    public static void Collect(bool force)
    {
        ThreadHeap* self = t_heap;
        if (self != null)
        {
            ReleaseEmptyPages(self);
        }

        lock (s_lock)
        {
            foreach (HeapRecord record in s_heaps)
            {
                ThreadHeap* h = (ThreadHeap*)record.Heap;
                if (h != self)
                {
                    Volatile.Write(ref h->CollectRequested, 1);
                }
            }
        }

        Maintain(force);
    }

    /// <summary>One line per segment and per page in use, for diagnostics and test failure messages.</summary>
    internal static string Describe()
    {
        var text = new System.Text.StringBuilder();
        lock (s_lock)
        {
            for (int kind = 0; kind < 3; kind++)
            {
                for (Segment* s = (Segment*)s_segments[kind]; s != null; s = s->Next)
                {
                    text.Append($"segment {(nuint)s:x} shift {s->PageShift} free {s->FreeMask:x} dirty {s->DirtyMask:x} empty-since {s->EmptySince}\n");
                    for (int i = 0; i < s->PageCount; i++)
                    {
                        Page* p = s->PageAt(i);
                        if (p->SizeClass >= 0)
                        {
                            string owner = p->Heap == AbandonedHeap ? "abandoned" : p->Heap == FreePageHeap ? "free" : $"heap {(nuint)p->Heap:x}";
                            text.Append($"  page {i} class {p->BlockSize} used {p->Used} capacity {p->Capacity}/{p->Reserved} full {p->IsFull} thread-free {(p->ThreadFree != 0 ? "yes" : "no")} {owner}\n");
                        }
                    }
                }
            }
        }

        return text.ToString();
    }
}
