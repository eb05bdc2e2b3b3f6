using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Allocator.Buffers;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over one native block that grows with <see cref="NativeAllocator.Realloc"/>:
/// in place when the block's usable size or the allocator allows, by copying otherwise. The native twin of
/// <see cref="ArrayBufferWriter{T}"/>.
/// </summary>
/// <remarks>
/// <para><b>Growth.</b> <see cref="Capacity"/> is always the block's whole usable size, so the writer uses every
/// byte it has before it reallocates; then it asks for at least twice as much (and at least 256 bytes' worth).
/// <see cref="Reallocations"/> counts the calls to <c>Realloc</c>.</para>
/// <para><b>Memory.</b> <see cref="GetMemory"/> and <see cref="WrittenMemory"/> are views through one
/// <see cref="MemoryManager{T}"/> that always reads the writer's current block: a <see cref="Memory{T}"/> taken
/// before a growth still reads the same (copied) elements, and one used after <see cref="Dispose"/> throws
/// <see cref="ObjectDisposedException"/>. A <see cref="Span{T}"/> is valid only until the next
/// <see cref="GetSpan"/>, <see cref="GetMemory"/> or <see cref="Dispose"/>.</para>
/// <para>Not thread-safe, like <see cref="ArrayBufferWriter{T}"/>; <see cref="Dispose"/> alone may race with
/// itself. A writer that is never disposed frees its block in its finalizer.</para>
/// </remarks>
/// <typeparam name="T">The element type.</typeparam>
[DebuggerDisplay("{ToString(),nq}")]
public sealed unsafe class NativeBufferWriter<T> : IBufferWriter<T>, IDisposable
    where T : unmanaged
{
    private static readonly int s_minimumGrowth = Math.Max(1, 256 / sizeof(T));

    private nint _buffer;
    private int _capacity;
    private int _written;
    private long _reallocations;
    private WriterMemory? _memory;
    private bool _disposed;

    /// <summary>Makes an empty writer; the first <see cref="GetSpan"/> or <see cref="GetMemory"/> allocates.</summary>
    public NativeBufferWriter()
    {
    }

    /// <summary>Makes a writer with room for at least <paramref name="initialCapacity"/> elements.</summary>
    /// <param name="initialCapacity">The elements to allocate now; 0 allocates nothing.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCapacity"/> is negative.</exception>
    public NativeBufferWriter(int initialCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialCapacity);
        if (initialCapacity > 0)
        {
            Grow(initialCapacity);
        }
    }

    /// <summary>Frees the block of a writer that was never disposed.</summary>
    ~NativeBufferWriter()
    {
        nint buffer = Interlocked.Exchange(ref _buffer, 0);
        if (buffer != 0)
        {
            BlockCache.FreeQuietly((void*)buffer);
        }
    }

    /// <summary>Elements written so far.</summary>
    public int WrittenCount => _written;

    /// <summary>Elements the current block holds: its whole usable size.</summary>
    public int Capacity => _capacity;

    /// <summary>Elements that can be written before the block must grow.</summary>
    public int FreeCapacity => _capacity - _written;

    /// <summary>How many times the block was reallocated (grown) so far.</summary>
    public long Reallocations => _reallocations;

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>The elements written so far.</summary>
    /// <exception cref="ObjectDisposedException">The writer was disposed.</exception>
    public ReadOnlySpan<T> WrittenSpan => new((void*)Live(), _written);

    /// <summary>The elements written so far, as memory (a view that stays valid across growth, until <see cref="Dispose"/>).</summary>
    /// <exception cref="ObjectDisposedException">The writer was disposed.</exception>
    public ReadOnlyMemory<T> WrittenMemory
    {
        get
        {
            Live();
            return Manager().Create(0, _written);
        }
    }

    /// <summary>Notes that <paramref name="count"/> more elements were written into the last span or memory.</summary>
    /// <param name="count">Elements written.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or beyond <see cref="FreeCapacity"/>.</exception>
    /// <exception cref="ObjectDisposedException">The writer was disposed.</exception>
    public void Advance(int count)
    {
        Live();
        if ((uint)count > (uint)(_capacity - _written))
        {
            ThrowHelper.Throw(new ArgumentOutOfRangeException(nameof(count), count, $"NativeBufferWriter.Advance: between 0 and the free capacity ({_capacity - _written})."));
        }

        _written += count;
    }

    /// <summary>Room for at least <paramref name="sizeHint"/> elements (at least one when 0), growing the block if needed.</summary>
    /// <param name="sizeHint">Elements wanted; 0 for "some".</param>
    /// <returns>The free part of the block.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeHint"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The writer was disposed.</exception>
    /// <exception cref="OutOfMemoryException">The block cannot grow that far.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return new Span<T>((T*)_buffer + _written, _capacity - _written);
    }

    /// <summary>As <see cref="GetSpan"/>, as memory.</summary>
    /// <param name="sizeHint">Elements wanted; 0 for "some".</param>
    /// <returns>The free part of the block.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeHint"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The writer was disposed.</exception>
    /// <exception cref="OutOfMemoryException">The block cannot grow that far.</exception>
    public Memory<T> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return Manager().Create(_written, _capacity - _written);
    }

    /// <summary>Zeroes the written elements and sets <see cref="WrittenCount"/> to 0; the block is kept.</summary>
    /// <exception cref="ObjectDisposedException">The writer was disposed.</exception>
    public void Clear()
    {
        NativeAllocator.Clear((void*)Live(), (nuint)_written * (nuint)sizeof(T));
        _written = 0;
    }

    /// <summary>Sets <see cref="WrittenCount"/> to 0 without touching the elements; the block is kept.</summary>
    /// <exception cref="ObjectDisposedException">The writer was disposed.</exception>
    public void ResetWrittenCount()
    {
        Live();
        _written = 0;
    }

    /// <summary>Frees the block. Idempotent; memory taken from this writer throws <see cref="ObjectDisposedException"/> afterwards.</summary>
    public void Dispose()
    {
        _disposed = true;
        _memory?.MarkDisposed();
        nint buffer = Interlocked.Exchange(ref _buffer, 0);
        if (buffer != 0)
        {
            GC.SuppressFinalize(this);
            NativeAllocator.Free((void*)buffer);
        }

        _capacity = 0;
        _written = 0;
    }

    /// <summary>"NativeBufferWriter&lt;Byte&gt;[written/capacity]", or "(disposed)". Never throws.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        _disposed ? $"Allocator.Buffers.NativeBufferWriter<{typeof(T).Name}> (disposed)" : $"Allocator.Buffers.NativeBufferWriter<{typeof(T).Name}>[{_written}/{_capacity}]";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Ensure(int sizeHint)
    {
        if (sizeHint < 0)
        {
            ThrowHelper.Throw(new ArgumentOutOfRangeException(nameof(sizeHint), sizeHint, "NativeBufferWriter: the size hint must not be negative."));
        }

        if (_disposed)
        {
            ThrowHelper.ThrowWriterDisposed();
        }

        int wanted = sizeHint == 0 ? 1 : sizeHint;
        if (wanted > _capacity - _written)
        {
            Grow(wanted);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int wanted)
    {
        long needed = (long)_written + wanted;
        if (needed > int.MaxValue)
        {
            ThrowHelper.Throw(new OutOfMemoryException($"NativeBufferWriter: {needed} elements exceed the largest span ({int.MaxValue})."));
        }

        long target = Math.Clamp(Math.Max(needed, 2L * _capacity), s_minimumGrowth, int.MaxValue);
        void* grown = NativeAllocator.Realloc((void*)_buffer, (nuint)target * (nuint)sizeof(T));
        _buffer = (nint)grown;
        _capacity = (int)Math.Min(NativeAllocator.UsableSize(grown) / (nuint)sizeof(T), int.MaxValue);
        _reallocations++;
    }

    private nint Live()
    {
        if (_disposed)
        {
            ThrowHelper.ThrowWriterDisposed();
        }

        return _buffer;
    }

    private WriterMemory Manager() => _memory ??= new WriterMemory(this);

    /// <summary>The manager behind every memory this writer hands out: reads the writer's block of the moment.</summary>
    private sealed class WriterMemory(NativeBufferWriter<T> writer) : MemoryManager<T>
    {
        private volatile bool _disposed;

        public void MarkDisposed() => _disposed = true;

        public Memory<T> Create(int start, int length) => CreateMemory(start, length);

        public override Span<T> GetSpan()
        {
            if (_disposed)
            {
                ThrowHelper.ThrowWriterDisposed();
            }

            return new Span<T>((void*)writer._buffer, writer._capacity);
        }

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            if (_disposed)
            {
                ThrowHelper.ThrowWriterDisposed();
            }

            if ((uint)elementIndex > (uint)writer._capacity)
            {
                ThrowHelper.ThrowPinIndex(elementIndex, writer._capacity);
            }

            return new MemoryHandle((T*)writer._buffer + elementIndex, default, this);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
