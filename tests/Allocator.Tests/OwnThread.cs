namespace Allocator.Tests;

/// <summary>Runs test code on a thread of its own (a fresh thread heap), failing the test with what it threw.</summary>
internal static class OwnThread
{
    /// <summary>Runs <paramref name="action"/> on a new thread and waits; rethrows its exception as a test failure.</summary>
    public static void Run(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure != null)
        {
            throw new Xunit.Sdk.XunitException($"on its own thread: {failure}");
        }
    }
}
