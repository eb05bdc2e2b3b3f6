namespace Allocator.Buffers;

/// <summary>
/// Runs a callback after each Gen2 GC, on the finalizer thread: an object that is only ever reachable from the
/// finalization queue, and re-registers itself each time it is finalized (the trick of dotnet/runtime's internal
/// Gen2GcCallback). Once promoted to Gen2 it is found unreachable only by Gen2 collections.
/// </summary>
internal sealed class Gen2Callback
{
    private readonly Action _callback;

    private Gen2Callback(Action callback) => _callback = callback;

    ~Gen2Callback()
    {
        if (Environment.HasShutdownStarted)
        {
            return;
        }

        try
        {
            _callback();
        }
        catch (Exception)
        {
            // A finalizer must not throw; the next Gen2 GC tries again.
        }

        GC.ReRegisterForFinalize(this);
    }

    /// <summary>Calls <paramref name="callback"/> after every Gen2 GC from now on.</summary>
    public static void Register(Action callback) => _ = new Gen2Callback(callback);
}
