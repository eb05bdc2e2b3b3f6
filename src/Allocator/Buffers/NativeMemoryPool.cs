namespace Allocator.Buffers;

/// <summary>The shared pool of native bytes.</summary>
public static class NativeMemoryPool
{
    /// <summary>
    /// A process-wide <see cref="NativeMemoryPool{T}"/> of bytes with the default options: the native twin of
    /// <c>MemoryPool&lt;byte&gt;.Shared</c>, e.g. for <c>new PipeOptions(pool: NativeMemoryPool.Shared)</c>.
    /// Its <c>Dispose</c> does nothing.
    /// </summary>
    public static NativeMemoryPool<byte> Shared { get; } = new(NativeMemoryPoolOptions.Default, isShared: true);
}
