"""Who the person is: users, passwords and sign-in sessions. Knows nothing about OAuth."""
