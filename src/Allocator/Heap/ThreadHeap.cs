using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Allocator.Heap;

/// <summary>
/// A thread's heap: for each size class, a queue of pages with free blocks (its head is where allocation
/// pops from), a list of full pages, and the count of blocks the thread freed into other threads' pages.
/// </summary>
/// <remarks>
/// <para>Only the owning thread reads or writes a heap, except <see cref="CollectRequested"/> (set by any thread),
/// <see cref="RemoteFrees"/> and <see cref="CollectedRemoteFrees"/> (read, never written, by statistics; once the owner
/// has died, the reaper collects into the latter under the arena's lock before folding it) and the stack range (read by every thread that
/// asks whether it owns the heap; see <see cref="StackMap"/>). When its thread dies, <see cref="Arena"/> abandons
/// the heap under its lock: pages with live blocks go to the abandoned lists, empty pages are freed, its remote-free
/// counts (pushed and collected) are folded into the arena's totals, and the heap is reused by a later thread.</para>
/// <para>An empty queue's head is <see cref="Arena.EmptyPage"/>, whose free list is always null, so the fast path
/// needs no null check.</para>
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ThreadHeap
{
    /// <summary>
    /// Head of each class's queue of pages that may have free blocks (a Page*). The first field, so that the
    /// allocation fast path reads a head as <c>((Page**)h)[c]</c> (see <see cref="HeadOf"/>).
    /// </summary>
    public fixed ulong Queue[SizeClasses.Count];

    /// <summary>
    /// Low address of the owning thread's stack as <see cref="StackMap"/> records it. Its upper 32 bits are the word
    /// the owner's exit hook overwrites, which turns it into an address below 2^36 that no recorded stack is near.
    /// Read by any thread; written by the owner (while <see cref="StackBytes"/> is 0, or to restore it), by the
    /// reaper and by the exit hook. See <see cref="StackMap"/>.
    /// </summary>
    public nuint StackLow;

    /// <summary>
    /// Size in bytes of the owner's stack from <see cref="StackLow"/>, or 0, which no address matches. Written last
    /// by the owner; cleared by the reaper. A native word, so that the ownership check compares with it in memory.
    /// </summary>
    public nuint StackBytes;

    /// <summary>Slow paths that found the caller's stack-map slot held by another live heap (see <see cref="StackMap.Learn"/>); owner-only.</summary>
    public int SlotConflicts;

    /// <summary>The owner's <see cref="StackLow"/> as recorded when it took the heap (0 when the stack map is not used); owner-only.</summary>
    public nuint StackHome;

    /// <summary>Tail of each class's queue (a Page*, 0 when the queue is empty).</summary>
    public fixed ulong QueueTail[SizeClasses.Count];

    /// <summary>
    /// Blocks this thread freed into other threads' pages, per class (owner-written, on the remote-free path). The
    /// statistics subtract these, less the arena's count of collected remote frees, from the pages' live counts.
    /// </summary>
    public fixed long RemoteFrees[SizeClasses.Count];

    /// <summary>
    /// Blocks other threads freed into this heap's pages that it has collected, per class (owner-written, when it
    /// collects a page's thread-free list). The statistics subtract these from the pushed counts (<see cref="RemoteFrees"/>
    /// of every heap) to find the remote frees still waiting.
    /// </summary>
    public fixed long CollectedRemoteFrees[SizeClasses.Count];

    /// <summary>Head of each class's list of full pages (a Page*).</summary>
    public fixed ulong Full[SizeClasses.Count];

    /// <summary>
    /// Where the next look for remotely freed blocks in each class's full list starts (a Page* in that list, or 0 for
    /// its head), so that successive looks cover the whole list a few pages at a time.
    /// </summary>
    public fixed ulong FullCursor[SizeClasses.Count];

    /// <summary>Set by <see cref="NativeAllocator.Collect"/> on another thread: release kept empty pages at the next slow path.</summary>
    public int CollectRequested;

    /// <summary>Index in the arena's heap registry.</summary>
    public int Id;

    /// <summary>Next heap in the arena's pool of unused heaps.</summary>
    public ThreadHeap* NextFree;

    /// <summary>
    /// The head of class <paramref name="c"/>'s queue in <paramref name="h"/>: plain pointer arithmetic
    /// (<see cref="Queue"/> is the first field), where reading the fixed buffer through <c>h-&gt;Queue</c> makes the
    /// JIT add a null check of <paramref name="h"/> to every allocation. The one reader of heads, fast path and slow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Page* HeadOf(ThreadHeap* h, nuint c) => ((Page**)h)[c];
}
