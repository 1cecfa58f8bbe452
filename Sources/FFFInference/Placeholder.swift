import FFFFormat
