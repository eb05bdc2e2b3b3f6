namespace Allocator.Tests;

/// <summary>Runs test code on a thread of its own (a fresh thread heap), failing the test with what it threw.</summary>
internal static class OwnThread
{
    /// <summary>Runs <paramref name="action"/> on a new thread and waits; rethrows its exception as a test failure.</summary>
    public static void Run(Action action)
    {
        using var worker = new Worker();
        worker.Do(action);
    }

    /// <summary>A thread that stays alive (its heap with it) and runs what it is given, one action at a time.</summary>
    public sealed class Worker : IDisposable
    {
        private readonly System.Collections.Concurrent.BlockingCollection<(Action Action, ManualResetEventSlim Done)> _work = [];
        private readonly Thread _thread;
        private Exception? _failure;

        public Worker()
        {
            _thread = new Thread(() =>
            {
                foreach ((Action action, ManualResetEventSlim done) in _work.GetConsumingEnumerable())
                {
                    try
                    {
                        action();
                    }
                    catch (Exception e)
                    {
                        _failure = e;
                    }

                    done.Set();
                }
            });
            _thread.Start();
        }

        /// <summary>Runs <paramref name="action"/> on the worker and waits; rethrows its exception as a test failure.</summary>
        public void Do(Action action)
        {
            using var done = new ManualResetEventSlim();
            _work.Add((action, done));
            done.Wait();
            if (_failure is { } failure)
            {
                _failure = null;
                throw new Xunit.Sdk.XunitException($"on its own thread: {failure}");
            }
        }

        /// <summary>Ends the thread once the actions given to it are done.</summary>
        public void Dispose()
        {
            _work.CompleteAdding();
            _thread.Join();
            _work.Dispose();
        }
    }
}
