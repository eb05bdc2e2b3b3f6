using System.Runtime.CompilerServices;

namespace Allocator.Heap;

/// <summary>
/// Freeing: the inlined fast path for a block the calling thread owns, the remote path (one CAS onto the owning
/// page's thread-free list), and the checks that turn bad pointers into exceptions.
/// </summary>
internal static unsafe partial class Arena
{
    /// <summary>
    /// Frees <paramref name="ptr"/>. Fast path: the pointer lies in one of our small-page segments, at the start of
    /// a carved block that is not free; in a page the calling thread owns (see <see cref="StackMap.CallerOwns"/>) it
    /// is pushed on the page's free list, else <see cref="FreeRemote"/> pushes it on the page's thread-free list
    /// without checking the pointer again. Blocks in medium- and large-page segments take
    /// <see cref="FreeOtherKind"/>, the same steps out of line; everything else (null, large blocks, bad pointers)
    /// goes to <see cref="FreeSlow"/>.
    /// </summary>
    /// <remarks>
    /// The small-page test compares the segment map's entry with a constant and then computes the page from the
    /// pointer with that constant, so the address of the page's free list (which the next allocation of the class
    /// reads) does not wait for the map's load: the address of the store that pushes the block is known as soon as
    /// the pointer is, and an alloc+free pair on one class is a shorter chain of dependent loads and stores.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Free(void* ptr)
    {
        nuint p = (nuint)ptr;
        nuint chunk = p >> Segment.Shift;
        if (chunk < SegmentMap.Chunks)
        {
            int shift = SegmentMap.ShiftAt(chunk);
            if (shift == Segment.SmallPageShift)
            {
                if (TryFreeIn(Segment.PageOf(p, Segment.SmallPageShift), (Block*)ptr))
                {
                    return;
                }
            }
            else if (shift != 0)
            {
                FreeOtherKind(ptr, shift);
                return;
            }
        }

        FreeSlow(ptr);
    }

    /// <summary>
    /// <see cref="Free"/> of a pointer into a segment of medium or large pages (page shift <paramref name="shift"/>
    /// from the segment map): the fast path's checks and push, out of line.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FreeOtherKind(void* ptr, int shift)
    {
        if (!TryFreeIn(Segment.PageOf((nuint)ptr, shift), (Block*)ptr))
        {
            FreeSlow(ptr);
        }
    }

    /// <summary>
    /// The free fast path once <paramref name="b"/>'s page is known (<paramref name="b"/> lies in one of our
    /// segments): when <paramref name="b"/> starts a carved block that is not free, pushes it on the page's own free
    /// list (the caller owns the page) or its thread-free list, and returns true; else returns false, leaving the
    /// diagnosis to <see cref="FreeSlow"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryFreeIn(Page* page, Block* b)
    {
        ThreadHeap* h = page->Heap;
        if (!page->IsBlockStart((nuint)b))
        {
            return false;
        }

        nuint tag = Page.FreeTag(b); // after the check, so that the JIT does not keep it in a register across the rotate
        if (Page.IsFreeTag(b->Tag, tag))
        {
            return false;
        }

        if (StackMap.CallerOwns(h, StackMap.Here()))
        {
            FreeLocal(h, page, b, tag);
        }
        else
        {
            FreeRemote(page, b, tag);
        }

        return true;
    }

    /// <summary>
    /// Pushes a checked block onto its own page's free list (the calling thread owns the page); <paramref name="tag"/>
    /// is <see cref="Page.FreeTag"/> of <paramref name="b"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FreeLocal(ThreadHeap* h, Page* page, Block* b, nuint tag)
    {
        b->Next = page->Free;
        b->Tag = tag;
        page->Free = b;
        int freed = unchecked(page->Freed + 1); // wraps by design: only Allocated - Freed, in 32 bits, is used
        page->Freed = freed;
        if (Page.UsedOf(page->Allocated, freed) < page->FreeWakeBelow) // the page's Used after this free
        {
            AfterLocalFree(h, page);
        }
    }

    /// <summary>
    /// A local free hit a full page, or emptied a page that is not kept: a full page rejoins the queue as its head;
    /// an empty one goes back to its segment.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AfterLocalFree(ThreadHeap* h, Page* page)
    {
        int c = page->SizeClass;
        if (page->IsFull != 0)
        {
            UnlinkFromFull(h, c, page);
            page->SetFull(false);
            AppendToQueue(h, c, page);
            if (page->Used != 0 || page->ReleaseWhenEmpty == 0)
            {
                return;
            }
        }

        UnlinkFromQueue(h, c, page);
        ReleasePage(page);
    }

    /// <summary>Everything <see cref="Free"/>'s fast path does not handle, with full checks.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FreeSlow(void* ptr)
    {
        if (ptr == null)
        {
            return;
        }

        nuint p = (nuint)ptr;
        if (!SegmentMap.Contains(p))
        {
            LargeBlocks.Free(ptr);
            return;
        }

        Page* page = Locate(ptr, "Free");
        FreeChecked(page, (Block*)ptr, Page.FreeTag(ptr));
    }

    /// <summary>
    /// The fast path's free of a checked block (a carved block start in <paramref name="page"/>, not free) that the
    /// stack map does not place in the caller's heap: usually a remote free. Only what the fast path did not check
    /// is checked here: a page no longer in use goes to <see cref="FreeSlow"/>, which says what is wrong.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FreeRemote(Page* page, Block* b, nuint tag)
    {
        if (page->Heap == FreePageHeap)
        {
            FreeSlow(b);
            return;
        }

        FreeChecked(page, b, tag);
    }

    /// <summary>
    /// Frees <paramref name="b"/>, a checked block of <paramref name="page"/> (in use), whose free tag is
    /// <paramref name="tag"/>: onto the page's own free list when the caller owns it, else onto its thread-free list.
    /// The caller's heap comes from the stack map when it knows (a remote free, the usual case here, needs no
    /// thread-static access), else from the thread-static, teaching the map for next time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FreeChecked(Page* page, Block* b, nuint tag)
    {
        ThreadHeap* h = StackMap.Current();
        if (h == null)
        {
            h = EnsureHeap();
            StackMap.Learn(h);
        }

        if (page->Heap == h)
        {
            FreeLocal(h, page, b, tag);
            return;
        }

        PushRemote(h, page, b, tag);
    }

    /// <summary>
    /// Remote free: tag the block, then one CAS pushes it onto the page's thread-free list (and counts it there), for
    /// its owner to collect. Counted in the caller's heap <paramref name="h"/> until then (see Arena.PendingRemoteFrees).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PushRemote(ThreadHeap* h, Page* page, Block* b, nuint tag)
    {
        h->RemoteFrees[page->SizeClass]++;
        b->Tag = tag;
        nint word;
        do
        {
            word = Volatile.Read(ref page->ThreadFree);
            b->Next = Page.ThreadFreeHead(word);
        }
        while (Interlocked.CompareExchange(ref page->ThreadFree, Page.ThreadFreePush(word, b), word) != word);
    }

    /// <summary>
    /// The page of the allocated arena block at <paramref name="ptr"/> (which must lie in one of our segments),
    /// or an exception that says what is wrong: not a block start (<see cref="ArgumentException"/>) or a block that
    /// is already free (<see cref="InvalidOperationException"/>, "double free").
    /// </summary>
    internal static Page* Locate(void* ptr, string operation)
    {
        nuint p = (nuint)ptr;
        Segment* s = (Segment*)(p & ~Segment.Mask);
        Page* page = s->PageOf(p);
        if (page->AreaStart == null || p < (nuint)page->AreaStart)
        {
            throw ThrowHelper.NotABlock(ptr, operation, "it points into the allocator's own metadata, not into a block");
        }

        uint size = page->BlockSize;
        if (size == 0 || p < (nuint)page->Start || p - (nuint)page->AreaStart >= page->AreaSize)
        {
            throw ThrowHelper.NotABlock(ptr, operation, "it does not point to an allocated block"); // p < Start: the colour gap
        }

        nuint offset = p - (nuint)page->Start;

        long index = page->BlockIndex(p);
        bool inUse = page->Heap != FreePageHeap;
        if (index < 0)
        {
            nuint within = offset % size;
            if (within != 0)
            {
                throw ThrowHelper.NotABlock(ptr, operation, $"it points {within} bytes into a block of {size} bytes; pass the pointer the allocator returned");
            }

            throw ThrowHelper.NotABlock(ptr, operation, "it does not point to an allocated block");
        }

        if (!inUse || Page.IsFreeTag(((Block*)ptr)->Tag, Page.FreeTag(ptr)))
        {
            throw ThrowHelper.DoubleFree(ptr, operation, size);
        }

        return page;
    }
}
