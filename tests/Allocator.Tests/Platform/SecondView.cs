using System.Runtime.InteropServices;
using Allocator.Mapping;
using Allocator.Platform;
using Xunit;

namespace Allocator.Tests.Platform;

/// <summary>
/// A second view of a shared mapping's pages, made by <c>mremap(old, 0, len, MREMAP_MAYMOVE)</c>: the stand-in
/// for the child of a fork, which .NET cannot make. Unmapped on Dispose.
/// </summary>
internal sealed unsafe class SecondView : IDisposable
{
    private readonly byte* _address;
    private readonly nuint _length;

    private SecondView(byte* address, nuint length)
    {
        _address = address;
        _length = length;
    }

    public nint Pointer => (nint)_address;

    public Span<byte> Span => new(_address, (int)_length);

    public static SecondView Of(MemoryMapping mapping)
    {
        void* view = Libc.mremap((void*)mapping.Pointer, 0, mapping.Length, Libc.MREMAP_MAYMOVE);
        Assert.True(view != Libc.MapFailed, Libc.Describe("mremap", Marshal.GetLastPInvokeError()));
        return new SecondView((byte*)view, mapping.Length);
    }

    public void Dispose() => Assert.Equal(0, Libc.munmap(_address, _length));
}
