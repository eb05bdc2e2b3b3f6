namespace Allocator.Heap;

/// <summary>
/// A background thread that gives memory back to the OS: it runs <see cref="Arena.Maintain"/> when a purge
/// deadline passes, and every half second while more than one thread heap exists, to find heaps whose threads
/// have exited. It sleeps without a timeout when nothing is pending, and is started on first need.
/// </summary>
/// <remarks>
/// Waking a sleeping thread is a system call and a context switch, far more than a free costs, so <see cref="Wake(long)"/>
/// signals the purger only when it sleeps past the moment the new work falls due (now plus the purge delay): when
/// it waits without a timeout, or for a later deadline (an unmap eight delays away, the half-second look for exited
/// threads). Under steady traffic its wait already ends within one delay, so it is signalled at most about once
/// per delay, not once per free. (Until 11-28 it was signalled only when it waited without a timeout, so a page or
/// a large block freed while it slept towards an unmap deadline waited up to eight delays to be purged.)
/// </remarks>
internal static class Purger
{
    private static readonly AutoResetEvent s_wake = new(false);
    private static int s_started;
    private static volatile bool s_activity;

    // When the purger's current wait ends (Environment.TickCount64); long.MaxValue while it waits without a timeout
    // and while it runs a pass (work that arrives after the pass looked must wake it again).
    private static long s_sleepUntil = long.MaxValue;

    /// <summary>
    /// Tells the purger that there is new work, due one purge delay from now; signals it only when it would sleep
    /// past that.
    /// </summary>
    public static void Wake() => Wake(Environment.TickCount64);

    /// <summary>As <see cref="Wake()"/>, for a caller that has just read <see cref="Environment.TickCount64"/> as <paramref name="now"/>.</summary>
    public static void Wake(long now)
    {
        s_activity = true;
        if (Volatile.Read(ref s_started) == 0)
        {
            Start();
            return;
        }

        long due = now + AllocatorOptions.PurgeDelayMilliseconds;
        if (due < Volatile.Read(ref s_sleepUntil))
        {
            Volatile.Write(ref s_sleepUntil, due);
            s_wake.Set();
        }
    }

    private static void Start()
    {
        if (Interlocked.Exchange(ref s_started, 1) != 0)
        {
            return;
        }

        var thread = new Thread(Run) { IsBackground = true, Name = "Allocator purger" };
        thread.UnsafeStart();
    }

    private static void Run()
    {
        while (true)
        {
            // While the pass runs, every Wake signals, so work that arrives after the pass looked is not lost.
            Volatile.Write(ref s_sleepUntil, long.MaxValue);
            Interlocked.MemoryBarrier();
            bool recentWork = s_activity;
            s_activity = false;
            int wait;
            try
            {
                wait = Arena.Maintain(false);
            }
            catch (OutOfMemoryException)
            {
                wait = 1000;
            }

            if (wait < 0 && recentWork)
            {
                // Work came in since the last pass: look again after one delay before going idle.
                wait = Math.Max(1, AllocatorOptions.PurgeDelayMilliseconds);
            }

            if (Arena.HeapCount > 1)
            {
                wait = wait < 0 ? 500 : Math.Min(wait, 500);
            }

            Volatile.Write(ref s_sleepUntil, wait < 0 ? long.MaxValue : Environment.TickCount64 + wait);
            s_wake.WaitOne(wait);
        }
    }
}
