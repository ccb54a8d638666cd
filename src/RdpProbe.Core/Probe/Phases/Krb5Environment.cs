using System.Runtime.InteropServices;

namespace RdpProbe.Probe.Phases;

/// <summary>
/// Points the platform's GSS-API Kerberos (what <see cref="System.Net.Security.NegotiateAuthentication"/> calls on
/// Linux) at the KDC the kerberos phase used, for one call. Unlike <see cref="Krb5Native"/>, which hands MIT krb5 a
/// profile directly, GSS-API only reads KRB5_CONFIG from the C environment when it makes a krb5 context, so the
/// variable is set with setenv(3) (<see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach the
/// C environment on Unix) for the duration of the scope and put back afterwards. One scope at a time in the process:
/// concurrent probes (--parallel) take turns, and nothing else in the probe reads the variable meanwhile.
/// </summary>
internal static partial class Krb5Environment
{
    private const string Variable = "KRB5_CONFIG";

    private static readonly Lock Gate = new();

    /// <summary>
    /// Writes <paramref name="krb5Conf"/> (no secret in it) to a file of its own, sets KRB5_CONFIG to it, and undoes both
    /// on dispose. Null: no scope (the library reads the user's own configuration).
    /// </summary>
    public static IDisposable Use(string? krb5Conf)
    {
        if (krb5Conf is null || OperatingSystem.IsWindows())
        {
            // SSPI on Windows asks the domain's KDCs itself; it reads no krb5.conf.
            return NoScope.Instance;
        }

        return new Scope(krb5Conf);
    }

    private sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();

        public void Dispose()
        {
        }
    }

    private sealed class Scope : IDisposable
    {
        private readonly string _directory;
        private readonly string? _previous;
        private bool _disposed;

        public Scope(string krb5Conf)
        {
            Gate.Enter();
            try
            {
                _directory = Directory.CreateTempSubdirectory("rdpprobe-gss-").FullName;
                string file = Path.Combine(_directory, "krb5.conf");
                File.WriteAllText(file, krb5Conf);
                _previous = GetEnv(Variable);
                if (SetEnv(Variable, file, 1) != 0)
                {
                    throw new InvalidOperationException("setenv(KRB5_CONFIG) failed");
                }
            }
            catch
            {
                Gate.Exit();
                throw;
            }
        }

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                _ = _previous is null ? UnsetEnv(Variable) : SetEnv(Variable, _previous, 1);
                try
                {
                    Directory.Delete(_directory, recursive: true);
                }
                catch (IOException)
                {
                    // A temporary krb5.conf left behind holds no secret.
                }
            }
            finally
            {
                Gate.Exit();
            }
        }
    }

    internal static string? GetEnv(string name) => Marshal.PtrToStringUTF8(GetEnvNative(name));

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnvNative(string name);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "unsetenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnsetEnv(string name);
}
