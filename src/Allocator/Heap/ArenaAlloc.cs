using System.Runtime.CompilerServices;
using Allocator.Platform;

namespace Allocator.Heap;

/// <summary>Allocation from thread heaps: the inlined fast path and the slow path that refills a class's queue.</summary>
internal static unsafe partial class Arena
{
    /// <summary>
    /// Fast allocation of at most <see cref="SizeClasses.LookupMax"/> bytes: pop from the head page of the class's
    /// queue. Falls back to <see cref="AllocSlow"/> when neither the <see cref="StackMap"/> nor the thread-static
    /// knows the thread's heap (it has none yet), and to <see cref="AllocFrom"/> when the page has no free block.
    /// No lock, no atomic instruction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void* AllocSmall(nuint size) => AllocSmallCore(size, zero: false);

    /// <summary>As <see cref="AllocSmall"/>, zeroed: a block that never held data needs only its two link words cleared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void* AllocSmallZeroed(nuint size) => AllocSmallCore(size, zero: true);

    /// <summary>The fast path of both; <paramref name="zero"/> is a constant at each call site, so the JIT keeps one branch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void* AllocSmallCore(nuint size, bool zero)
    {
        nuint sp = StackMap.Here();
        ThreadHeap* h = StackMap.Guess(sp);
        if (!StackMap.CallerOwns(h, sp) && (h = StackMap.Miss()) == null)
        {
            return AllocSlow(size, zero);
        }

        return Pop(h, SizeClasses.SmallIndex(size), zero);
    }

    /// <summary>
    /// Blocks above <see cref="SizeClasses.LookupMax"/> up to <see cref="SizeClasses.MaxSize"/>: the same pop as the
    /// small path, with the class computed instead of looked up, inlined into the caller's (already out-of-line)
    /// path for larger sizes, so a medium allocation makes no thread-static access either.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void* AllocMedium(nuint size, bool zero)
    {
        int c = SizeClasses.Index(size);
        nuint sp = StackMap.Here();
        ThreadHeap* h = StackMap.Guess(sp);
        if (!StackMap.CallerOwns(h, sp) && (h = StackMap.Miss()) == null)
        {
            return AllocClass(c, zero);
        }

        return Pop(h, (nuint)c, zero);
    }

    /// <summary>
    /// The fast paths' pop once the caller's heap <paramref name="h"/> is known: the head page's first free block
    /// of class <paramref name="c"/>, or <see cref="AllocFrom"/> when that page has none.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void* Pop(ThreadHeap* h, nuint c, bool zero)
    {
        Page* page = ThreadHeap.HeadOf(h, c);
        Block* b = page->Free;
        return b != null ? Take(page, b, zero) : AllocFrom(h, (int)c, zero);
    }

    /// <summary>
    /// Pops <paramref name="b"/>, the first free block of <paramref name="page"/>, the head page of its class's queue
    /// in the caller's heap. No lock, no atomic instruction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void* Take(Page* page, Block* b, bool zero)
    {
        // Written as a load and a store, not ++: the JIT gives `page->Allocated++` its own address register (an lea,
        // or an add to the page pointer) before the increment.
        page->Free = b->Next;
        page->Allocated = page->Allocated + 1; // Used follows: it is Allocated - Freed
        if (!zero)
        {
            // Any value but the free tag marks the block allocated; its own address is already in a register, so
            // this is one store (clearing the word takes two instructions: the JIT zeroes a register first).
            b->Tag = (nuint)b;
        }
        else if (b->Tag == Page.FreshTag(b))
        {
            b->Next = null;
            b->Tag = 0;
        }
        else
        {
            ZeroMemory.Clear(b, page->BlockSize);
        }

        return b;
    }

    /// <summary>The small fast path's fallback, for any arena size (at most <see cref="SizeClasses.MaxSize"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void* AllocSlow(nuint size, bool zero) => AllocClass(SizeClasses.Index(size), zero);

    /// <summary>A block of class <paramref name="c"/>; throws <see cref="OutOfMemoryException"/> when the OS refuses memory.</summary>
    public static void* AllocClass(int c, bool zero)
    {
        ThreadHeap* h = EnsureHeap();
        StackMap.Learn(h);
        return AllocFrom(h, c, zero);
    }

    /// <summary>
    /// The fast path's fallback when it already knows the caller's heap <paramref name="h"/> but the head page of
    /// class <paramref name="c"/> has nothing to pop (about one random-size allocation in ten): refill the queue and
    /// pop, without looking the heap up again.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void* AllocFrom(ThreadHeap* h, int c, bool zero)
    {
        Page* page = ThreadHeap.HeadOf(h, (nuint)c);
        if (page->Free == null)
        {
            page = RefillQueue(h, c);
        }

        return Take(page, page->Free, zero);
    }

    /// <summary>
    /// Makes the head of class <paramref name="c"/>'s queue a page with a free block and returns it:
    /// collect the head's remote frees or carve more of it; else move full pages aside and try the next;
    /// else look for remote frees in a few full pages; else acquire a page (adopted or from a segment).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Page* RefillQueue(ThreadHeap* h, int c)
    {
        if (h->CollectRequested != 0)
        {
            ReleaseEmptyPages(h);
        }

        ref nint queue = ref *(nint*)&h->Queue[c];
        ref nint full = ref *(nint*)&h->Full[c];
        while ((Page*)queue != EmptyPage)
        {
            Page* page = (Page*)queue;
            if (page->Free == null && page->ThreadFree != 0)
            {
                CollectThreadFree(page); // only when the page's own list is empty: then no block needs reading
            }

            if (page->Free == null && page->Capacity < page->Reserved)
            {
                Extend(page);
            }

            if (page->Free != null)
            {
                return page;
            }

            // Full: move it to the full list; the next page (or EmptyPage) becomes the head.
            UnlinkFromQueue(h, c, page);
            page->SetFull(true);
            PushFront(ref full, page);
        }

        // Look at a few full pages for blocks other threads freed, resuming where the last look stopped, so that
        // every full page is looked at within a few refills however long the list is.
        Page* candidate = (Page*)h->FullCursor[c];
        if (candidate == null)
        {
            candidate = (Page*)full;
        }

        for (int i = 0; i < 32 && candidate != null; i++)
        {
            Page* next = candidate->Next;
            if (Volatile.Read(ref candidate->ThreadFree) != 0)
            {
                CollectThreadFree(candidate);
                UnlinkFromFull(h, c, candidate);
                candidate->SetFull(false);
                PushToQueue(h, c, candidate);
                return candidate;
            }

            candidate = next;
        }

        h->FullCursor[c] = (ulong)candidate;

        Page* fresh = AcquirePage(h, c);
        if (fresh == null)
        {
            ThrowOutOfMemory(SizeClasses.Sizes[c]);
        }

        if (fresh->Free == null)
        {
            Extend(fresh);
        }

        PushToQueue(h, c, fresh);
        return fresh;
    }

    /// <summary>Makes <paramref name="page"/> the head of class <paramref name="c"/>'s queue.</summary>
    private static void PushToQueue(ThreadHeap* h, int c, Page* page)
    {
        Page* head = ThreadHeap.HeadOf(h, (nuint)c);
        page->Prev = null;
        page->Next = head == EmptyPage ? null : head;
        if (page->Next != null)
        {
            head->Prev = page;
        }
        else
        {
            h->QueueTail[c] = (ulong)page;
        }

        SetHead(h, c, page);
    }

    /// <summary>
    /// Puts <paramref name="page"/> at the end of class <paramref name="c"/>'s queue. A page that left the full list
    /// because one block was freed into it goes here, so the head keeps serving allocations instead of switching
    /// to a page with a single free block.
    /// </summary>
    private static void AppendToQueue(ThreadHeap* h, int c, Page* page)
    {
        Page* tail = (Page*)h->QueueTail[c];
        if (tail == null)
        {
            PushToQueue(h, c, page);
            return;
        }

        tail->Next = page;
        page->Prev = tail;
        page->Next = null;
        page->SetReleaseWhenEmpty(true);
        h->QueueTail[c] = (ulong)page;
    }

    /// <summary>Removes <paramref name="page"/> from class <paramref name="c"/>'s queue; an empty queue's head becomes <see cref="EmptyPage"/>.</summary>
    private static void UnlinkFromQueue(ThreadHeap* h, int c, Page* page)
    {
        if ((Page*)h->QueueTail[c] == page)
        {
            h->QueueTail[c] = (ulong)page->Prev;
        }

        nint head = (nint)ThreadHeap.HeadOf(h, (nuint)c);
        Unlink(ref head, page);
        SetHead(h, c, head == 0 ? EmptyPage : (Page*)head);
    }

    /// <summary>Removes <paramref name="page"/> from class <paramref name="c"/>'s full list, moving the cursor past it.</summary>
    internal static void UnlinkFromFull(ThreadHeap* h, int c, Page* page)
    {
        if ((Page*)h->FullCursor[c] == page)
        {
            h->FullCursor[c] = (ulong)page->Next;
        }

        Unlink(ref *(nint*)&h->Full[c], page);
    }

    /// <summary>Changes the head of a queue, keeping <see cref="Page.ReleaseWhenEmpty"/> true of every page but the head.</summary>
    private static void SetHead(ThreadHeap* h, int c, Page* page)
    {
        Page* old = ThreadHeap.HeadOf(h, (nuint)c);
        if (old != EmptyPage && old != page)
        {
            old->SetReleaseWhenEmpty(true);
        }

        if (page != EmptyPage)
        {
            page->SetReleaseWhenEmpty(page->BlockSize > SizeClasses.MediumPageMax);
        }

        h->Queue[c] = (ulong)page;
    }

    /// <summary>Releases every empty page the calling thread keeps at the head of its queues.</summary>
    internal static void ReleaseEmptyPages(ThreadHeap* h)
    {
        h->CollectRequested = 0;
        for (int c = 0; c < SizeClasses.Count; c++)
        {
            Page* page = ThreadHeap.HeadOf(h, (nuint)c);
            while (page != EmptyPage && page != null)
            {
                Page* next = page->Next;
                if (page->ThreadFree != 0)
                {
                    CollectThreadFree(page);
                }

                if (page->Used == 0)
                {
                    UnlinkFromQueue(h, c, page);
                    ReleasePage(page);
                }

                page = next;
            }

            ref nint full = ref *(nint*)&h->Full[c];
            page = (Page*)full;
            while (page != null)
            {
                Page* next = page->Next;
                if (page->ThreadFree != 0 && CollectThreadFree(page) > 0)
                {
                    UnlinkFromFull(h, c, page);
                    page->SetFull(false);
                    if (page->Used == 0)
                    {
                        ReleasePage(page);
                    }
                    else
                    {
                        PushToQueue(h, c, page);
                    }
                }

                page = next;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowOutOfMemory(nuint size) =>
        throw new OutOfMemoryException($"{Libc.Describe("mmap", OsMemory.t_lastErrno)} while allocating a block of {size} bytes");
}
