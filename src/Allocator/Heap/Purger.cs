namespace Allocator.Heap;

/// <summary>
/// A background thread that gives memory back to the OS: it runs <see cref="Arena.Maintain"/> when a purge
/// deadline passes, and every half second while more than one thread heap exists, to find heaps whose threads
/// have exited. It sleeps without a timeout when nothing is pending, and is started on first need.
/// </summary>
/// <remarks>
/// Waking a sleeping thread is a system call and a context switch, far more than a free costs, so <see cref="Wake"/>
/// signals only a purger that has gone idle. An idle purger goes idle only after a whole purge delay with no new
/// work, so under steady traffic (say a large block freed and allocated in a loop) it is signalled at most once
/// per delay, not once per free.
/// </remarks>
internal static class Purger
{
    private static readonly AutoResetEvent s_wake = new(false);
    private static int s_started;
    private static volatile bool s_idle;
    private static volatile bool s_activity;

    /// <summary>Tells the purger that there is new work; cheap when it is already running or waiting with a timeout.</summary>
    public static void Wake()
    {
        s_activity = true;
        if (Volatile.Read(ref s_started) == 0)
        {
            Start();
        }
        else if (s_idle)
        {
            s_idle = false;
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
            // Idle is raised before the pass, so a Wake that races with it sets the event and nothing is lost.
            s_idle = true;
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

            if (wait >= 0)
            {
                s_idle = false;
            }

            s_wake.WaitOne(wait);
        }
    }
}
