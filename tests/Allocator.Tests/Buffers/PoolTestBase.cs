using Allocator.Buffers;

namespace Allocator.Tests.Buffers;

/// <summary>
/// Base of the pool tests: after each test, frees every block the pools' shared cache holds, so that no test leaves
/// cached blocks behind for a later Gen2 GC to free while a statistics test is counting the allocator's blocks.
/// </summary>
public abstract class PoolTestBase : IDisposable
{
    public void Dispose()
    {
        BlockCache.Drain();
        GC.SuppressFinalize(this);
    }
}
