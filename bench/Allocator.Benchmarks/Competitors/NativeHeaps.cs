using System.Runtime.InteropServices;

namespace Allocator.Benchmarks.Competitors;

/// <summary>This project's allocator, called directly.</summary>
public unsafe struct OursHeap : INativeHeap
{
    public static string Name => "ours";

    public static void* Alloc(nuint size) => NativeAllocator.Alloc(size);

    public static void* AllocZeroed(nuint size) => NativeAllocator.AllocZeroed(size);

    public static void* Realloc(void* block, nuint size) => NativeAllocator.Realloc(block, size);

    public static void Free(void* block) => NativeAllocator.Free(block);

    public static bool Collect()
    {
        NativeAllocator.Collect(true);
        return true;
    }
}

/// <summary>glibc malloc through <see cref="NativeMemory"/>, the baseline every .NET user already has.</summary>
public unsafe struct NativeMemoryHeap : INativeHeap
{
    public static string Name => "glibc";

    public static void* Alloc(nuint size) => NativeMemory.Alloc(size);

    public static void* AllocZeroed(nuint size) => NativeMemory.AllocZeroed(size);

    public static void* Realloc(void* block, nuint size) => NativeMemory.Realloc(block, size);

    public static void Free(void* block) => NativeMemory.Free(block);

    public static bool Collect() => MallocTrim(0) >= 0;

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}

/// <summary>A native competitor loaded with <see cref="NativeLibrary"/>, named by <typeparamref name="TLibrary"/>.
/// Its entry points are resolved on first use, once per library (one static field per instantiation).</summary>
public unsafe struct LibraryHeap<TLibrary> : INativeHeap where TLibrary : INativeLibrary
{
    private static readonly LibraryFunctions s_functions = new(TLibrary.Info);

    public static string Name => TLibrary.Info.Key;

    public static void* Alloc(nuint size) => s_functions.Malloc(size);

    public static void* AllocZeroed(nuint size) => s_functions.Calloc(1, size);

    public static void* Realloc(void* block, nuint size) => s_functions.Realloc(block, size);

    public static void Free(void* block) => s_functions.Free(block);

    public static bool Collect() => s_functions.TryCollect();
}

/// <summary>Names a native library for <see cref="LibraryHeap{TLibrary}"/>.</summary>
public interface INativeLibrary
{
    static abstract NativeLibraryInfo Info { get; }
}

/// <summary>Native mimalloc from Debian's libmimalloc2.0.</summary>
public struct Mimalloc : INativeLibrary
{
    public static NativeLibraryInfo Info => NativeLibraries.Mimalloc;
}

/// <summary>Native jemalloc from Debian's libjemalloc2.</summary>
public struct Jemalloc : INativeLibrary
{
    public static NativeLibraryInfo Info => NativeLibraries.Jemalloc;
}

/// <summary>Native tcmalloc from Debian's libtcmalloc-minimal4.</summary>
public struct Tcmalloc : INativeLibrary
{
    public static NativeLibraryInfo Info => NativeLibraries.Tcmalloc;
}
