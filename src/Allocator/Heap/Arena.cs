using System.Numerics;
using System.Runtime.CompilerServices;
using Allocator.Platform;

namespace Allocator.Heap;

/// <summary>
/// The shared state behind all thread heaps: the segments of each kind, the abandoned pages of dead threads,
/// the heap registry, and the counters. Everything here is guarded by <see cref="s_lock"/> and touched only on
/// slow paths (a page acquired or released, a heap created or abandoned, a purge); the per-block fast paths
/// live in <c>ArenaAlloc.cs</c> and <c>ArenaFree.cs</c> and take no lock.
/// </summary>
/// <remarks>
/// Segment lists: one doubly-linked list per kind (small, medium, large pages) holds every segment of that kind,
/// segments with a free page first, so acquiring a page looks at the list's head only.
/// </remarks>
internal static unsafe partial class Arena
{
    /// <summary>
    /// Secret mixed into free tags, so user data cannot forge them. It comes from
    /// <see cref="Random.Shared"/>, which the runtime seeds from the OS; the cryptographic generator would load
    /// OpenSSL into every process that allocates (about 10 MiB of RSS) for no gain here.
    /// </summary>
    public static readonly nuint TagKey = (nuint)((ulong)Random.Shared.NextInt64() | (1UL << 63));

    /// <summary>Sentinel heap of abandoned pages. Only its identity and its stack size (always 0) are ever read.</summary>
    public static readonly ThreadHeap* AbandonedHeap;

    /// <summary>Sentinel heap of pages not in use (and of empty stack-map slots). Only its identity and its stack size (always 0) are ever read.</summary>
    public static readonly ThreadHeap* FreePageHeap;

    /// <summary>A page with no blocks: the head of every empty queue.</summary>
    public static readonly Page* EmptyPage;

    /// <summary>The calling thread's heap, or null before its first allocation or free.</summary>
    [ThreadStatic] public static ThreadHeap* t_heap;

    internal static readonly Lock s_lock = new();

    // Per kind (0 small, 1 medium, 2 large): head of the segment list (a Segment*).
    private static readonly nint[] s_segments = new nint[3];

    // Per class: head of the abandoned page list (a Page*).
    private static readonly nint[] s_abandoned = new nint[SizeClasses.Count];

    // Where the first heap of a chunk starts: not at a 4 KiB boundary. Every fresh page's first block sits at one
    // (pages are 64 KiB-aligned), and when the heap's first words (the stack range every fast path reads) share
    // their low 12 address bits with the block's, the CPU may hold those loads behind the stores to the block (4K
    // aliasing). A 64-byte alloc/free pair reusing block 0 took 6.3-10.4 ns in three runs where other blocks took
    // about 5; with the skew, medians of six alternating runs 5.2 against 5.75 ns. 31 lines in, where the early
    // blocks of the small classes are not.
    private const int HeapChunkSkew = 31 * 64;

    // Heaps in use and the thread each belongs to; a pool of unused heaps.
    private static readonly List<HeapRecord> s_heaps = [];
    private static ThreadHeap* s_heapPool;
    private static byte* s_heapChunk;
    private static nuint s_heapChunkLeft;

    // Per class: blocks ever handed out from pages since released (their Page.Allocated, folded in on release;
    // guarded by s_lock).
    private static readonly long[] s_retiredAllocs = new long[SizeClasses.Count];

    // Per class: remote frees counted by heaps since abandoned (folded in when they are abandoned; s_lock).
    private static readonly long[] s_deadRemoteFrees = new long[SizeClasses.Count];

    // Per class: remote frees collected into pages without an owner, and those collected by heaps since abandoned
    // (s_lock; a live heap counts its own in ThreadHeap.CollectedRemoteFrees).
    private static readonly long[] s_collectedRemoteFrees = new long[SizeClasses.Count];

    // Pages with a size class, and the count at which the next page acquisition samples the peak (s_lock).
    private static long s_pagesInUse;
    private static long s_nextPeakSample;

    // Memory and OS counters (guarded by s_lock, except where Interlocked is used).
    internal static long s_segmentCount;
    internal static long s_committed;
    internal static long s_reserved;
    internal static long s_peakCommitted;
    internal static long s_peakInUse;

    // Bytes in arena blocks at the last sample (page acquisition or statistics), for cheap peak updates elsewhere.
    internal static long s_arenaInUseSample;
    private static long s_pageAcquisitions;
    internal static long s_mapCalls;
    internal static long s_unmapCalls;
    internal static long s_purgeCalls;

    private static readonly byte* s_segmentLabel;

    private readonly record struct HeapRecord(nint Heap, Thread Thread);

    static Arena()
    {
        Segment.AssertLayout();
        nuint metaSize = OsMemory.PageSize;
        byte* meta = (byte*)OsMemory.MapUnchecked(metaSize);
        if (meta == null)
        {
            throw new OutOfMemoryException(Libc.Describe("mmap", OsMemory.t_lastErrno) + " (allocator start-up)");
        }

        EmptyPage = (Page*)meta;
        AbandonedHeap = (ThreadHeap*)(meta + 256);
        FreePageHeap = (ThreadHeap*)(meta + 512);
        EmptyPage->Heap = FreePageHeap;
        EmptyPage->SizeClass = -1;
        s_segmentLabel = meta + 1024;
        ReadOnlySpan<byte> label = "allocator-segment\0"u8;
        label.CopyTo(new Span<byte>(s_segmentLabel, label.Length));
        Diagnostics.MetricsActivation.Arm();
    }

    /// <summary>Thread heaps registered now (read without the lock: a snapshot, good enough for the purger's timing).</summary>
    internal static int HeapCount => s_heaps.Count;

    /// <summary>The page kind (0, 1, 2) of a page shift.</summary>
    private static int KindOf(int pageShift) => pageShift == Segment.SmallPageShift ? 0 : pageShift == Segment.MediumPageShift ? 1 : 2;

    // ------------------------------------------------------------------ heaps

    /// <summary>The calling thread's heap, created on first use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ThreadHeap* EnsureHeap()
    {
        ThreadHeap* h = t_heap;
        return h != null ? h : CreateHeap();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ThreadHeap* CreateHeap()
    {
        ThreadHeap* h;
        lock (s_lock)
        {
            // A new thread is the moment to notice threads that have exited: their pages become adoptable now
            // instead of at the purger's next pass, which matters to programs that re-create threads often.
            ReapDeadHeapsUnsynchronized();
            h = s_heapPool;
            if (h != null)
            {
                s_heapPool = h->NextFree;
            }
            else
            {
                nuint size = (nuint)((sizeof(ThreadHeap) + 63) & ~63);
                if (s_heapChunkLeft < size)
                {
                    nuint chunk = 64 * 1024;
                    s_heapChunk = (byte*)OsMemory.Map(chunk);
                    if (s_heapChunk == null)
                    {
                        s_heapChunkLeft = 0;
                        throw new OutOfMemoryException(Libc.Describe("mmap", OsMemory.t_lastErrno) + " (creating a thread heap)");
                    }

                    s_mapCalls++;
                    s_heapChunk += HeapChunkSkew;
                    s_heapChunkLeft = chunk - HeapChunkSkew;
                }

                h = (ThreadHeap*)s_heapChunk;
                s_heapChunk += size;
                s_heapChunkLeft -= size;
            }

            *h = default;
            for (int c = 0; c < SizeClasses.Count; c++)
            {
                h->Queue[c] = (ulong)EmptyPage;
            }

            h->Id = s_heaps.Count;
            s_heaps.Add(new HeapRecord((nint)h, Thread.CurrentThread));
        }

        t_heap = h;
        StackMap.Adopt(h);
        if (HeapCount > 1)
        {
            Purger.Wake(); // more than one heap: the purger starts looking for heaps of exited threads
        }
        return h;
    }

    /// <summary>Abandons the heaps of threads that have exited. Caller holds the lock.</summary>
    private static void ReapDeadHeapsUnsynchronized()
    {
        for (int i = s_heaps.Count - 1; i >= 0; i--)
        {
            HeapRecord record = s_heaps[i];
            if (!record.Thread.IsAlive)
            {
                AbandonHeapUnsynchronized((ThreadHeap*)record.Heap);
                s_heaps.RemoveAt(i);
            }
        }
    }

    private static void AbandonHeapUnsynchronized(ThreadHeap* h)
    {
        for (int kind = 0; kind < 3; kind++)
        {
            for (Segment* s = (Segment*)s_segments[kind]; s != null; s = s->Next)
            {
                if (s->Owner == h)
                {
                    s->Owner = null;
                }
            }
        }

        for (int c = 0; c < SizeClasses.Count; c++)
        {
            AbandonList(ThreadHeap.HeadOf(h, (nuint)c), c);
            AbandonList((Page*)h->Full[c], c);
            s_deadRemoteFrees[c] += h->RemoteFrees[c];
            s_collectedRemoteFrees[c] += h->CollectedRemoteFrees[c]; // after AbandonList, which collects into it
        }

        *h = default;
        h->NextFree = s_heapPool;
        s_heapPool = h;
    }

    private static void AbandonList(Page* page, int c)
    {
        while (page != null && page != EmptyPage)
        {
            Page* next = page->Next;
            CollectThreadFree(page);
            page->SetFull(false);
            if (page->Used == 0)
            {
                ReleasePageUnsynchronized(page);
            }
            else
            {
                page->Heap = AbandonedHeap;
                PushFront(ref s_abandoned[c], page);
            }

            page = next;
        }
    }

    /// <summary>Collects remote frees into abandoned pages and frees the pages that became empty. Caller holds the lock.</summary>
    private static void CollectAbandonedUnsynchronized()
    {
        for (int c = 0; c < SizeClasses.Count; c++)
        {
            Page* page = (Page*)s_abandoned[c];
            while (page != null)
            {
                Page* next = page->Next;
                CollectThreadFree(page);
                if (page->Used == 0)
                {
                    Unlink(ref s_abandoned[c], page);
                    ReleasePageUnsynchronized(page);
                }

                page = next;
            }
        }
    }

    // ------------------------------------------------------------------ page lists

    /// <summary>Pushes <paramref name="page"/> at the front of the list whose head is <paramref name="head"/>.</summary>
    internal static void PushFront(ref nint head, Page* page)
    {
        Page* first = (Page*)head;
        page->Prev = null;
        page->Next = first;
        if (first != null)
        {
            first->Prev = page;
        }

        head = (nint)page;
    }

    /// <summary>Removes <paramref name="page"/> from the list whose head is <paramref name="head"/>.</summary>
    internal static void Unlink(ref nint head, Page* page)
    {
        if (page->Prev != null)
        {
            page->Prev->Next = page->Next;
        }
        else
        {
            head = (nint)page->Next;
        }

        if (page->Next != null)
        {
            page->Next->Prev = page->Prev;
        }

        page->Next = null;
        page->Prev = null;
    }

    /// <summary>
    /// Moves every block freed by other threads into the page's own free list; returns how many. Called by the
    /// page's owner, or under the lock for a page without one. The list's length comes with it, so when the page's
    /// own list is empty (a refill, the usual case) no block is read here; the blocks are read when they are handed
    /// out, one at a time, where other work overlaps the misses.
    /// </summary>
    internal static int CollectThreadFree(Page* page)
    {
        nint word = Interlocked.Exchange(ref page->ThreadFree, 0);
        if (word == 0)
        {
            return 0;
        }

        Block* head = Page.ThreadFreeHead(word);
        int count = Page.ThreadFreeCount(word);
        if (page->Free != null)
        {
            Block* tail = head;
            while (tail->Next != null)
            {
                tail = tail->Next;
            }

            tail->Next = page->Free;
        }

        page->Free = head;
        page->Freed = unchecked(page->Freed + count);
        ThreadHeap* owner = page->Heap;
        if (owner != AbandonedHeap && owner != FreePageHeap)
        {
            owner->CollectedRemoteFrees[page->SizeClass] += count; // owner-written, like RemoteFrees
        }
        else
        {
            s_collectedRemoteFrees[page->SizeClass] += count; // under the lock
        }

        return count;
    }

    // ------------------------------------------------------------------ acquiring and releasing pages

    /// <summary>
    /// A page of class <paramref name="c"/> for heap <paramref name="h"/>, with at least one free or carvable
    /// block: an abandoned page adopted, or a free page from a segment (mapping a new segment if needed).
    /// Null when the OS refuses memory. Full abandoned pages met on the way join the heap's full list.
    /// </summary>
    internal static Page* AcquirePage(ThreadHeap* h, int c)
    {
        lock (s_lock)
        {
            ref nint abandoned = ref s_abandoned[c];
            while (abandoned != 0)
            {
                Page* a = (Page*)abandoned;
                Unlink(ref abandoned, a);
                a->Heap = h;
                CollectThreadFree(a);
                if (a->Free != null || a->Capacity < a->Reserved)
                {
                    return a;
                }

                a->SetFull(true);
                PushFront(ref *(nint*)&h->Full[c], a);
            }

            int shift = SizeClasses.PageShift(c);
            int kind = KindOf(shift);
            Segment* s = FindSegment(kind, h, anyOwner: false);
            if (s == null)
            {
                s = MapSegment(shift);
                if (s == null && (s = FindSegment(kind, h, anyOwner: true)) == null)
                {
                    return null;
                }
            }

            if (s->Owner == null)
            {
                s->Owner = h;
            }

            int index = BitOperations.TrailingZeroCount(s->FreeMask);
            ulong bit = 1UL << index;
            s->FreeMask &= ~bit;
            s->DirtyMask &= ~bit;

            s->EmptySince = 0;
            if (s->FreeMask == 0)
            {
                MoveSegmentToBack(kind, s);
            }

            Page* page = s->PageAt(index);
            bool grows = page->MemoryIsZero != 0;
            if (grows)
            {
                s_committed += (long)page->AreaSize;
                if (s_committed > s_peakCommitted)
                {
                    s_peakCommitted = s_committed;
                }
            }

            InitPage(page, h, c);

            // Bytes in use are a sum over the pages in use, O(pages): sample the peak when the pages in use pass
            // the last sample's count by 1/32 (at least 8 pages), and on every 64th page acquisition, which keeps
            // the cost linear overall and the peak within a few percent of the truth.
            if (++s_pagesInUse >= s_nextPeakSample || (++s_pageAcquisitions & 63) == 0)
            {
                SamplePeakUnsynchronized();
            }

            return page;
        }
    }

    /// <summary>
    /// A segment of <paramref name="kind"/> with a free page for <paramref name="h"/>: one it owns, else an unowned
    /// one; with <paramref name="anyOwner"/>, any (the OS refused a new segment). Null when there is none. Segments
    /// with free pages sit at the front of the list. Caller holds the lock.
    /// </summary>
    private static Segment* FindSegment(int kind, ThreadHeap* h, bool anyOwner)
    {
        Segment* unowned = null;
        for (Segment* s = (Segment*)s_segments[kind]; s != null && s->FreeMask != 0; s = s->Next)
        {
            if (s->Owner == h || anyOwner)
            {
                return s;
            }

            if (s->Owner == null && unowned == null)
            {
                unowned = s;
            }
        }

        return unowned;
    }

    /// <summary>Pages given each class so far (modulo 2^32), which picks each new page's colour; under the lock.</summary>
    private static readonly uint[] s_pagesColoured = new uint[SizeClasses.Count];

    /// <summary>Gives a free <paramref name="page"/> class <paramref name="c"/> and owner <paramref name="h"/>; caller holds the lock.</summary>
    private static void InitPage(Page* page, ThreadHeap* h, int c)
    {
        uint size = SizeClasses.Sizes[c];
        page->Free = null;
        page->Freed = 0;
        page->BlockSize = size;
        page->Heap = h;
        page->DivInverse = Page.InverseOf(size);
        page->Capacity = 0;
        uint offset = PageColour.Offset(size, s_pagesColoured[c]++);
        page->Start = page->AreaStart + offset;
        page->Reserved = (int)((page->AreaSize - offset) / size);
        page->ThreadFree = 0;
        page->Allocated = 0;
        page->SizeClass = (short)c;
        page->BlockShift = (byte)BitOperations.TrailingZeroCount(size);
        page->SetFull(false);
        page->SetReleaseWhenEmpty(true);
        page->TailIsZero = page->MemoryIsZero;
        page->MemoryIsZero = 0;
        page->Next = null;
        page->Prev = null;
    }

    /// <summary>
    /// Carves the next run of blocks (about 4 KiB worth, at least one) into the free list of a page whose free
    /// list is empty. Writing their links is what first touches the memory.
    /// </summary>
    internal static void Extend(Page* page)
    {
        const int extendBytes = 4096;
        uint size = page->BlockSize;
        int count = (int)Math.Min(page->Reserved - page->Capacity, Math.Max(1, extendBytes / (int)size));
        byte* first = page->Start + ((nuint)page->Capacity * size);
        bool fresh = page->TailIsZero != 0 && !AllocatorOptions.Checked; // checked mode fills carved blocks
        byte* p = first;
        for (int i = 1; i < count; i++)
        {
            Block* b = (Block*)p;
            b->Next = (Block*)(p + size);
            b->Tag = Page.CarvedTag(p, fresh);
            p += size;
        }

        ((Block*)p)->Next = null;
        ((Block*)p)->Tag = Page.CarvedTag(p, fresh);
        if (AllocatorOptions.Checked)
        {
            Diagnostics.CheckedHeap.FillCarved(first, (nuint)count, size);
        }

        page->Free = (Block*)first;
        page->Capacity += count;
    }

    /// <summary>Returns an empty page to its segment; its memory is purged after the delay. Caller holds the lock.</summary>
    internal static void ReleasePageUnsynchronized(Page* page)
    {
        Segment* s = (Segment*)((nuint)page & ~Segment.Mask);
        ulong bit = 1UL << page->Index;
        s_retiredAllocs[page->SizeClass] += page->Allocated;
        s_pagesInUse--;
        page->Allocated = 0;
        page->Heap = FreePageHeap;
        page->SizeClass = -1;
        page->Free = null;
        page->ThreadFree = 0;
        page->Freed = 0;
        page->SetFull(false);
        page->Next = null;
        page->Prev = null;
        page->FreedAt = Environment.TickCount64;
        bool wasFull = s->FreeMask == 0;
        s->FreeMask |= bit;
        s->DirtyMask |= bit;
        if (wasFull)
        {
            MoveSegmentToFront(KindOf(s->PageShift), s);
        }

        if (s->FreeMask == s->UsableMask)
        {
            s->EmptySince = Math.Max(1, page->FreedAt);
        }

        Purger.Wake(page->FreedAt);
    }

    /// <summary>Releases a page the calling thread owns (it became empty).</summary>
    internal static void ReleasePage(Page* page)
    {
        lock (s_lock)
        {
            ReleasePageUnsynchronized(page);
        }
    }

    // ------------------------------------------------------------------ segments

    private static Segment* MapSegment(int pageShift)
    {
        void* mem = OsMemory.MapAligned(Segment.Size, Segment.Size);
        if (mem == null)
        {
            return null;
        }

        s_mapCalls++;
        if (AllocatorOptions.LabelMemory)
        {
            OsMemory.NameRaw(mem, Segment.Size, s_segmentLabel);
        }

        Segment* s = (Segment*)mem;
        s->PageShift = pageShift;
        int pageCount = (int)(Segment.Size >> pageShift);
        s->PageCount = pageCount;
        for (int i = 0; i < pageCount; i++)
        {
            nuint begin = Math.Max((nuint)i << pageShift, Segment.HeaderSize);
            nuint end = (nuint)(i + 1) << pageShift;
            Page* page = s->PageAt(i);
            page->Index = i;
            page->Heap = FreePageHeap;
            page->SizeClass = -1;
            page->MemoryIsZero = 1;
            if (end > begin)
            {
                page->AreaStart = (byte*)mem + begin;
                page->Start = page->AreaStart;
                page->AreaSize = end - begin;
                s->UsableMask |= 1UL << i;
            }
        }

        s->FreeMask = s->UsableMask;
        int kind = KindOf(pageShift);
        s->Next = (Segment*)s_segments[kind];
        if (s->Next != null)
        {
            s->Next->Prev = s;
        }

        s_segments[kind] = (nint)s;
        s_segmentCount++;
        s_reserved += (long)Segment.Size;
        s_committed += (long)Segment.HeaderSize;
        SegmentMap.Add(mem, pageShift);
        return s;
    }

    private static void UnmapSegmentUnsynchronized(Segment* s)
    {
        int kind = KindOf(s->PageShift);
        UnlinkSegment(kind, s);
        for (int i = 0; i < s->PageCount; i++)
        {
            Page* page = s->PageAt(i);
            if (page->AreaSize != 0 && page->MemoryIsZero == 0)
            {
                s_committed -= (long)page->AreaSize;
            }
        }

        s_committed -= (long)Segment.HeaderSize;
        s_reserved -= (long)Segment.Size;
        s_segmentCount--;
        SegmentMap.Remove(s);
        OsMemory.Unmap(s, Segment.Size);
        s_unmapCalls++;
    }

    private static void UnlinkSegment(int kind, Segment* s)
    {
        if (s->Prev != null)
        {
            s->Prev->Next = s->Next;
        }
        else
        {
            s_segments[kind] = (nint)s->Next;
        }

        if (s->Next != null)
        {
            s->Next->Prev = s->Prev;
        }

        s->Next = null;
        s->Prev = null;
    }

    private static void MoveSegmentToFront(int kind, Segment* s)
    {
        if ((Segment*)s_segments[kind] == s)
        {
            return;
        }

        UnlinkSegment(kind, s);
        s->Next = (Segment*)s_segments[kind];
        if (s->Next != null)
        {
            s->Next->Prev = s;
        }

        s_segments[kind] = (nint)s;
    }

    private static void MoveSegmentToBack(int kind, Segment* s)
    {
        if (s->Next == null)
        {
            return;
        }

        UnlinkSegment(kind, s);
        Segment* last = (Segment*)s_segments[kind];
        if (last == null)
        {
            s_segments[kind] = (nint)s;
            return;
        }

        while (last->Next != null)
        {
            last = last->Next;
        }

        last->Next = s;
        s->Prev = last;
    }

    // ------------------------------------------------------------------ purging

    /// <summary>
    /// One maintenance pass: abandons dead threads' heaps, collects abandoned pages, purges free pages whose delay
    /// has passed (all of them when <paramref name="force"/>), and unmaps segments that stayed empty.
    /// Returns the milliseconds until the next pending deadline, or -1 when nothing is pending.
    /// </summary>
    internal static int Maintain(bool force)
    {
        // Forced passes treat every deadline as passed: a delay of "minus infinity", so pages released during this
        // very pass (by reaping) are purged too.
        long delay = force ? long.MinValue / 2 : AllocatorOptions.PurgeDelayMilliseconds;
        long next = long.MaxValue;
        long now;
        lock (s_lock)
        {
            ReapDeadHeapsUnsynchronized();
            CollectAbandonedUnsynchronized();
            now = Environment.TickCount64;
            for (int kind = 0; kind < 3; kind++)
            {
                Segment* s = (Segment*)s_segments[kind];
                while (s != null)
                {
                    Segment* following = s->Next;
                    if (s->EmptySince != 0 && now - s->EmptySince >= delay)
                    {
                        UnmapSegmentUnsynchronized(s);
                    }
                    else if (s->DirtyMask != 0)
                    {
                        next = Math.Min(next, PurgeSegmentPages(s, now, delay));
                        if (s->EmptySince != 0)
                        {
                            next = Math.Min(next, s->EmptySince + delay);
                        }
                    }
                    else if (s->EmptySince != 0)
                    {
                        next = Math.Min(next, s->EmptySince + delay);
                    }

                    s = following;
                }
            }
        }

        next = Math.Min(next, LargeBlocks.Maintain(Environment.TickCount64, force));
        return next == long.MaxValue ? -1 : (int)Math.Clamp(next - now, 1, int.MaxValue);
    }

    /// <summary>Purges the dirty free pages of a segment whose delay has passed; returns the next deadline.</summary>
    private static long PurgeSegmentPages(Segment* s, long now, long delay)
    {
        long next = long.MaxValue;
        ulong dirty = s->DirtyMask;
        while (dirty != 0)
        {
            int i = BitOperations.TrailingZeroCount(dirty);
            dirty &= dirty - 1;
            Page* page = s->PageAt(i);
            if (now - page->FreedAt < delay)
            {
                next = Math.Min(next, page->FreedAt + delay);
                continue;
            }

            // Coalesce the run of adjacent dirty pages whose delay has passed into one madvise.
            int last = i;
            while (last + 1 < s->PageCount && (dirty & (1UL << (last + 1))) != 0 && now - s->PageAt(last + 1)->FreedAt >= delay)
            {
                last++;
                dirty &= ~(1UL << last);
            }

            byte* begin = page->AreaStart;
            Page* lastPage = s->PageAt(last);
            nuint length = (nuint)(lastPage->AreaStart + lastPage->AreaSize - begin);
            OsMemory.Purge(begin, length);
            s_purgeCalls++;
            for (int j = i; j <= last; j++)
            {
                Page* p = s->PageAt(j);
                p->MemoryIsZero = 1;
                s_committed -= (long)p->AreaSize;
                s->DirtyMask &= ~(1UL << j);
            }
        }

        return next;
    }

    /// <summary>Updates the peak of bytes in use, summing the pages. Caller holds the lock.</summary>
    internal static void SamplePeakUnsynchronized()
    {
        var sums = new PageSums();
        SumPagesUnsynchronized(ref sums);
        SamplePeakUnsynchronized(ArenaBytesInUse(ref sums));
    }

    /// <summary>Updates the peak of bytes in use, given the bytes in arena blocks. Caller holds the lock.</summary>
    internal static void SamplePeakUnsynchronized(long arena)
    {
        Volatile.Write(ref s_arenaInUseSample, arena);
        NotePeakCandidate(arena + LargeBlocks.BytesInUse);
        s_nextPeakSample = s_pagesInUse + Math.Max(8, s_pagesInUse / 32);
    }

    /// <summary>Raises the peak of bytes in use to <paramref name="inUse"/> if it is higher (any thread, no lock).</summary>
    internal static void NotePeakCandidate(long inUse) => AtomicMax.Raise(ref s_peakInUse, inUse);

    /// <summary>Bytes in live arena blocks, from the sums over the pages. Caller holds the lock.</summary>
    internal static long ArenaBytesInUse(ref PageSums sums)
    {
        long total = 0;
        for (int c = 0; c < SizeClasses.Count; c++)
        {
            total += LiveBlocks(ref sums, c) * SizeClasses.Sizes[c];
        }

        return total;
    }

    /// <summary>Per-class sums over the pages in use (see <see cref="SumPagesUnsynchronized"/>).</summary>
    internal struct PageSums
    {
        /// <summary>Pages per class.</summary>
        public fixed int Pages[SizeClasses.Count];

        /// <summary>Blocks that fit in those pages.</summary>
        public fixed long Capacity[SizeClasses.Count];

        /// <summary>Their <see cref="Page.Used"/>: live blocks, and remote frees not yet collected.</summary>
        public fixed long Used[SizeClasses.Count];

        /// <summary>Their <see cref="Page.Allocated"/>.</summary>
        public fixed long Allocated[SizeClasses.Count];
    }

    /// <summary>
    /// Sums the counts of every page in use, per class. Caller holds the lock, which keeps the segment lists still;
    /// owners change their pages' counts meanwhile, so with other threads running the sums are a moment's
    /// approximation, and exact when they are quiet.
    /// </summary>
    internal static void SumPagesUnsynchronized(ref PageSums sums)
    {
        for (int kind = 0; kind < 3; kind++)
        {
            for (Segment* s = (Segment*)s_segments[kind]; s != null; s = s->Next)
            {
                ulong used = s->UsableMask & ~s->FreeMask;
                while (used != 0)
                {
                    int i = BitOperations.TrailingZeroCount(used);
                    used &= used - 1;
                    Page* page = s->PageAt(i);
                    int c = page->SizeClass;
                    if (c >= 0)
                    {
                        sums.Pages[c]++;
                        sums.Capacity[c] += page->Reserved;
                        long allocated = Volatile.Read(ref page->Allocated);
                        sums.Used[c] += Page.UsedOf(allocated, Volatile.Read(ref page->Freed));
                        sums.Allocated[c] += allocated;
                    }
                }
            }
        }
    }

    /// <summary>Live blocks of class <paramref name="c"/>: the pages' counts less the remote frees not yet collected.</summary>
    internal static long LiveBlocks(ref PageSums sums, int c) => sums.Used[c] - PendingRemoteFreesUnsynchronized(c);

    /// <summary>Blocks ever allocated in class <paramref name="c"/>: pages in use and pages since released.</summary>
    internal static long Allocations(ref PageSums sums, int c) => s_retiredAllocs[c] + sums.Allocated[c];

    /// <summary>
    /// Remote frees of class <paramref name="c"/> pushed but not yet collected by the page's owner: their blocks are
    /// still counted in the page's <see cref="Page.Used"/>. Counted by every heap, live and dead, less what was
    /// collected. Caller holds the lock.
    /// </summary>
    internal static long PendingRemoteFreesUnsynchronized(int c)
    {
        long pending = s_deadRemoteFrees[c] - s_collectedRemoteFrees[c];
        for (int i = 0; i < s_heaps.Count; i++)
        {
            var h = (ThreadHeap*)s_heaps[i].Heap;
            pending += Volatile.Read(ref h->RemoteFrees[c]) - Volatile.Read(ref h->CollectedRemoteFrees[c]);
        }

        return pending;
    }
}
