using System.Text.Json.Serialization;

namespace Allocator.Inspect;

/// <summary>The reports' JSON shape, generated at build time (no reflection: trim- and AOT-friendly).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(HeapReport))]
[JsonSerializable(typeof(OwnersReport))]
[JsonSerializable(typeof(MapsReport))]
internal sealed partial class InspectJson : JsonSerializerContext;
