using System.Text;

namespace RdpProbe.Cli;

/// <summary>
/// Where the password comes from: the RDPPROBE_PASSWORD environment variable, else a prompt on the terminal with no
/// echo. Never a command-line argument (it would show in ps, shell history and logs).
/// </summary>
internal static class PasswordSource
{
    public const string EnvironmentVariable = "RDPPROBE_PASSWORD";

    /// <summary>The password, or null with <paramref name="error"/> when there is neither the variable nor a terminal.</summary>
    public static string? Get(string user, TextWriter prompt, out string? error)
        => Get(user, prompt, Environment.GetEnvironmentVariable(EnvironmentVariable), !Console.IsInputRedirected, out error);

    internal static string? Get(string user, TextWriter prompt, string? fromEnvironment, bool terminal, out string? error)
    {
        error = null;
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }

        if (!terminal)
        {
            error = $"--user {user}: set {EnvironmentVariable} (no terminal to ask for the password)";
            return null;
        }

        prompt.Write($"Password for {user}: ");
        prompt.Flush();
        var password = new StringBuilder();
        while (password.Length < 1024)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (password.Length > 0)
                {
                    password.Length--;
                }

                continue;
            }

            if (!char.IsControl(key.KeyChar))
            {
                password.Append(key.KeyChar);
            }
        }

        prompt.WriteLine();
        return password.ToString();
    }
}
